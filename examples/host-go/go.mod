module github.com/yaoapp/yaowasm/examples/host-go

go 1.25.0

require (
	github.com/yaoapp/gou v0.10.3
	github.com/yaoapp/yaowasm/bindings/go v0.0.0
	github.com/yaoapp/yaowasm/bindings/go/gou v0.0.0
)

require (
	github.com/TylerBrock/colorjson v0.0.0-20200706003622-8a50f05110d2 // indirect
	github.com/fatih/color v1.13.0 // indirect
	github.com/fsnotify/fsnotify v1.6.0 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/mattn/go-colorable v0.1.12 // indirect
	github.com/mattn/go-isatty v0.0.14 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/sirupsen/logrus v1.8.1 // indirect
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	github.com/yaoapp/kun v0.9.0 // indirect
	golang.org/x/sys v0.44.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace (
	github.com/yaoapp/yaowasm/bindings/go => ../../bindings/go
	github.com/yaoapp/yaowasm/bindings/go/gou => ../../bindings/go/gou
)
