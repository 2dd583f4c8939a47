//go:build yao_init_logs

package main

import yao "github.com/yaoapp/yaowasm/sdk/go"

// Built with -tags yao_init_logs: an initialization that reaches Yao,
// which the host cannot snapshot (it must run per call, with a host).
func init() { yao.Log.Info("initializing") }
