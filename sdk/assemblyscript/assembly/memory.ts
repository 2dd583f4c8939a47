// The memory exports the host needs (SPEC §3). Re-export them from your
// entry file: `export { yao_alloc, yao_free } from "@yaoapp/yaowasm-as";`

/** Gives the host `size` bytes to write into (call arguments, answers of
 *  yao.process). The memory is outside the garbage collector's reach and
 *  is freed by the SDK once it has decoded what the host wrote. 0 means out
 *  of memory. */
export function yao_alloc(size: i32): usize {
  if (size < 0) return 0;
  // heap.alloc aborts rather than returning 0 when memory cannot grow; the
  // host turns that trap into an error for the call.
  return heap.alloc(<usize>max(size, 1));
}

/** Lets the host give back a buffer it got from yao_alloc. */
export function yao_free(ptr: usize, size: i32): void {
  if (ptr != 0) heap.free(ptr);
}
