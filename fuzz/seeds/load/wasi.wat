(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from wasi\npartial")
  (data (i32.const 48) "oops\n")
  
  (global $heap (mut i32) (i32.const 4096))
  (func $alloc (export "yao_alloc") (param $n i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))) (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $p))

  
  (func $pack (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))
  (func $err (param $p i32) (param $n i32) (result i64)
    (call $pack (local.get $p) (i32.or (local.get $n) (i32.const 0x80000000))))

  (func (export "_initialize") (i32.store8 (i32.const 600) (i32.const 0x2a)))
  (func (export "Initialized") (param i32 i32) (result i64) (call $pack (i32.const 600) (i32.const 1)))
  (func (export "Hello") (param i32 i32) (result i64)
    (i32.store (i32.const 700) (i32.const 16)) (i32.store (i32.const 704) (i32.const 23))
    (drop (call $fd_write (i32.const 1) (i32.const 700) (i32.const 1) (i32.const 720)))
    (i32.store (i32.const 700) (i32.const 48)) (i32.store (i32.const 704) (i32.const 5))
    (drop (call $fd_write (i32.const 2) (i32.const 700) (i32.const 1) (i32.const 720)))
    (i64.const 0))
)