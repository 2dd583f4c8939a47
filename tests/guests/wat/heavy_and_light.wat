;; 64 pages of memory. Heavy writes a 1 in each 4 KiB of the first 4 MiB,
;; then spins for some 10 ms (so it runs across an epoch tick); Light
;; writes one byte; Peek answers the byte at 0x5000. Used by
;; src/runtime/resident.rs's test and benches/exec.rs.
(module
  (memory (export "memory") 64)
  (func (export "yao_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "Light") (param i32 i32) (result i64)
    (i32.store8 (i32.const 300) (i32.const 0xc0))
    (i64.or (i64.shl (i64.const 300) (i64.const 32)) (i64.const 1)))
  (func (export "Peek") (param i32 i32) (result i64)
    (i32.store8 (i32.const 300) (i32.load8_u (i32.const 0x5000)))
    (i64.or (i64.shl (i64.const 300) (i64.const 32)) (i64.const 1)))
  (func (export "Heavy") (param i32 i32) (result i64)
    (local $a i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $a) (i32.const 0x400000)))
      (i32.store8 (local.get $a) (i32.const 1))
      (local.set $a (i32.add (local.get $a) (i32.const 4096)))
      (br $l)))
    (local.set $a (i32.const 0))
    (block $done (loop $spin
      (br_if $done (i32.ge_u (local.get $a) (i32.const 50000000)))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br $spin)))
    (i32.store8 (i32.const 300) (i32.const 0xc0))
    (i64.or (i64.shl (i64.const 300) (i64.const 32)) (i64.const 1)))
)
