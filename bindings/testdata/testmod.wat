;; Test guest shared by the Python and Go binding tests (assembled with wat2wasm).
;; Functions (SPEC §3 script signature: (args_ptr, args_len) -> packed i64):
;;   Echo  returns its argument array unchanged
;;   Nil   returns nil
;;   Fail  raises {"code": 418, "message": "teapot"}
;;   Call  args = [name, [arg...]]: calls yao.process(name, [arg...]) and
;;         returns its result (or passes its error on)
;;   Query calls yao.query with its own args array and returns what the host
;;         answers (or passes its error on)
;;   Log   logs "hello from wat" at level 2 (info), returns nil
;;   Loop  never returns (for timeouts)
;;   Trap  executes `unreachable`
;;   Grow  grows memory by 4096 pages (256 MiB), beyond any sane cap
(module
  (import "yao" "process" (func $process (param i32 i32 i32 i32) (result i64)))
  (import "yao" "log" (func $log (param i32 i32 i32)))
  (import "yao" "query" (func $query (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  ;; {"code": 418, "message": "teapot"} in MessagePack, 24 bytes
  (data (i32.const 16) "\82\a4code\cd\01\a2\a7message\a6teapot")
  (data (i32.const 64) "hello from wat")

  (func $pack (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
            (i64.extend_i32_u (local.get $n))))

  (func (export "yao_alloc") (param $size i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow (i32.add (i32.shr_u (local.get $size) (i32.const 16)) (i32.const 1)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $p))

  (func (export "Echo") (param $p i32) (param $n i32) (result i64)
    (call $pack (local.get $p) (local.get $n)))

  (func (export "Nil") (param $p i32) (param $n i32) (result i64)
    (i64.const 0))

  (func (export "Fail") (param $p i32) (param $n i32) (result i64)
    (call $pack (i32.const 16) (i32.or (i32.const 24) (i32.const 0x80000000))))

  (func (export "Log") (param $p i32) (param $n i32) (result i64)
    (call $log (i32.const 2) (i32.const 64) (i32.const 14))
    (i64.const 0))

  (func (export "Loop") (param $p i32) (param $n i32) (result i64)
    (loop $forever (br $forever))
    (i64.const 0))

  (func (export "Query") (param $p i32) (param $n i32) (result i64)
    (call $query (local.get $p) (local.get $n)))

  (func (export "Trap") (param $p i32) (param $n i32) (result i64)
    unreachable)

  (func (export "Grow") (param $p i32) (param $n i32) (result i64)
    (drop (memory.grow (i32.const 4096)))
    (i64.const 0))

  ;; args must be a 2-element array whose first element is a string of fewer
  ;; than 256 bytes (fixstr or str8); anything else traps.
  (func (export "Call") (param $p i32) (param $n i32) (result i64)
    (local $q i32) (local $tag i32) (local $len i32) (local $end i32)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x92)) (then unreachable))
    (local.set $q (i32.add (local.get $p) (i32.const 1)))
    (local.set $tag (i32.load8_u (local.get $q)))
    (if (i32.eq (i32.and (local.get $tag) (i32.const 0xe0)) (i32.const 0xa0))
      (then
        (local.set $len (i32.and (local.get $tag) (i32.const 0x1f)))
        (local.set $q (i32.add (local.get $q) (i32.const 1))))
      (else
        (if (i32.ne (local.get $tag) (i32.const 0xd9)) (then unreachable))
        (local.set $len (i32.load8_u (i32.add (local.get $q) (i32.const 1))))
        (local.set $q (i32.add (local.get $q) (i32.const 2)))))
    (call $process
      (local.get $q) (local.get $len)
      (i32.add (local.get $q) (local.get $len))
      (i32.sub (local.get $end) (i32.add (local.get $q) (local.get $len))))))
