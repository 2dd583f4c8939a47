// The memory exports the host needs (SPEC §3). Re-export them from your
// entry file: `export { yao_alloc, yao_free } from "@yaoapp/yaowasm-as";`

/** Gives the host `size` bytes to write into (call arguments, answers of
 *  yao.process). The memory is outside the garbage collector's reach and
 *  is freed by the SDK once it has decoded what the host wrote. 0 means out
 *  of memory. */
// Keep the version in step with package.json.
const SDK_MARK: usize = memory.data<u8>([0, 121, 97, 111, 119, 97, 115, 109, 45, 115, 100, 107, 58, 97, 115, 115, 101, 109, 98, 108, 121, 115, 99, 114, 105, 112, 116, 32, 48, 46, 49, 46, 48, 0]);

export function yao_alloc(size: i32): usize {
  // A negative size is refused (0). Naming SDK_MARK here is what puts the
  // mark (`yaowasm-sdk:assemblyscript <version>`, ASCII) in the module's
  // data, where `yaowasm inspect` reads it: a stripped module keeps no
  // other trace of the SDK.
  if (size < 0) return SDK_MARK & 0;
  // heap.alloc aborts rather than returning 0 when memory cannot grow; the
  // host turns that trap into an error for the call.
  return heap.alloc(<usize>max(size, 1));
}

/** Lets the host give back a buffer it got from yao_alloc. */
export function yao_free(ptr: usize, size: i32): void {
  if (ptr != 0) heap.free(ptr);
}
