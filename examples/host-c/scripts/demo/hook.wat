;; A tiny guest for the C host example: Greet(name) asks the host for
;; `models.user.Find` with the same args, logs, and returns the host's answer.
(module
  (import "yao" "process" (func $process (param i32 i32 i32 i32) (result i64)))
  (import "yao" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "models.user.Find")
  (data (i32.const 48) "greeting from wasm")
  (data (i32.const 80) "\82\a4code\cd\01\93\a7message\a9forbidden")
  (global $heap (mut i32) (i32.const 1024))
  (func (export "yao_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  (func (export "Greet") (param $args i32) (param $len i32) (result i64)
    (call $log (i32.const 2) (i32.const 48) (i32.const 18))
    (call $process (i32.const 16) (i32.const 16) (local.get $args) (local.get $len)))
  (func (export "Deny") (param i32 i32) (result i64)
    ;; {"code": 403, "message": "forbidden"} with the error bit set.
    (i64.or (i64.shl (i64.const 80) (i64.const 32)) (i64.const 0x8000001b)))
)
