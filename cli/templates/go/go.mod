module {{name}}

go 1.24

require github.com/yaoapp/yaowasm/sdk/go v0.0.0

// The yaowasm Go SDK, written here by `yaowasm new` (it is not published
// as a module yet).
replace github.com/yaoapp/yaowasm/sdk/go => ./yao-sdk-go
