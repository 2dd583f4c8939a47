package yao

// FSRoot is one of the file roots the runtime's config names (Yao has
// `data` and `system`), with the methods of Yao's FS (docs/ABI.md §6). Make
// one with [FS]; it holds only the root's name.
//
// Paths are relative to the root, `/`-separated ("notes/today.txt"; "" is
// the root itself). A `..` component, an absolute path or a symlink that
// leads outside the root is refused with a 403 before anything is touched.
//
//	data := yao.FS("data")
//	text, err := data.ReadFile("notes/today.txt")
//
// A failure is an *Error with the host's code: 403 refused path (or a root
// that is not configured), 404 not found, 409 already exists, 400 bad
// arguments, 413 a file too large for the guest, 500 other I/O errors.
type FSRoot struct {
	root string
}

// FS returns the root called name.
func FS(name string) FSRoot {
	return FSRoot{root: name}
}

// Name is the root's name.
func (f FSRoot) Name() string { return f.root }

func (f FSRoot) what(method string) string { return "fs." + f.root + "." + method }

func (f FSRoot) invoke(method string, args ...any) ([]byte, error) {
	return invoke(f.what(method), args, func(encoded []byte) ([]byte, bool) {
		return hostFS(f.root, method, encoded)
	})
}

// fsCall runs method and decodes its result into T.
func fsCall[T any](f FSRoot, method string, args ...any) (T, error) {
	answer, err := f.invoke(method, args...)
	return decodeAnswer[T](f.what(method), answer, err)
}

// Call runs any FS method with positional args and returns its result; use
// it for the optional arguments the typed methods leave out (a permission
// for WriteFile or Mkdir: `data.Call("WriteFile", "a.sh", text, 0o755)`).
func (f FSRoot) Call(method string, args ...any) (any, error) {
	return fsCall[any](f, method, args...)
}

// ReadFile returns the file as text (a 400 when it is not UTF-8; use
// ReadFileBuffer).
func (f FSRoot) ReadFile(path string) (string, error) {
	return fsCall[string](f, "ReadFile", path)
}

// ReadFileBuffer returns the file as bytes.
func (f FSRoot) ReadFileBuffer(path string) ([]byte, error) {
	value, err := fsCall[any](f, "ReadFileBuffer", path)
	if err != nil {
		return nil, err
	}
	data, ok := value.([]byte)
	if !ok {
		return nil, Errorf(500, "%s returned %T instead of bytes", f.what("ReadFileBuffer"), value)
	}
	return data, nil
}

// WriteFile creates or truncates path with the text data and returns the
// number of bytes written. The parent directory must exist.
func (f FSRoot) WriteFile(path string, data string) (int, error) {
	return fsCall[int](f, "WriteFile", path, data)
}

// WriteFileBuffer is WriteFile with bytes.
func (f FSRoot) WriteFileBuffer(path string, data []byte) (int, error) {
	return fsCall[int](f, "WriteFileBuffer", path, bin(data))
}

// AppendFile appends data to path, creating the file if it is missing, and
// returns the number of bytes written.
func (f FSRoot) AppendFile(path string, data []byte) (int, error) {
	return fsCall[int](f, "AppendFile", path, bin(data))
}

// Exists reports whether path exists.
func (f FSRoot) Exists(path string) (bool, error) {
	return fsCall[bool](f, "Exists", path)
}

// IsDir reports whether path is a directory (false when absent).
func (f FSRoot) IsDir(path string) (bool, error) {
	return fsCall[bool](f, "IsDir", path)
}

// IsFile reports whether path is a regular file (false when absent).
func (f FSRoot) IsFile(path string) (bool, error) {
	return fsCall[bool](f, "IsFile", path)
}

// ReadDir lists what is under the directory path, as paths relative to the
// root ("dir/a.txt"), sorted; recursive goes down every subdirectory.
func (f FSRoot) ReadDir(path string, recursive bool) ([]string, error) {
	return fsCall[[]string](f, "ReadDir", path, recursive)
}

// Mkdir makes one directory: its parent must exist (404), and it must not
// (409).
func (f FSRoot) Mkdir(path string) error {
	_, err := f.invoke("Mkdir", path)
	return err
}

// MkdirAll makes a directory and its missing parents; a directory that
// exists already is fine.
func (f FSRoot) MkdirAll(path string) error {
	_, err := f.invoke("MkdirAll", path)
	return err
}

// Remove removes a file or an empty directory (404 when absent).
func (f FSRoot) Remove(path string) error {
	_, err := f.invoke("Remove", path)
	return err
}

// RemoveAll removes path and everything under it; an absent path is fine.
func (f FSRoot) RemoveAll(path string) error {
	_, err := f.invoke("RemoveAll", path)
	return err
}

// Size returns the size of a file in bytes.
func (f FSRoot) Size(path string) (int64, error) {
	return fsCall[int64](f, "Size", path)
}

// Move renames src to dst, both under this root.
func (f FSRoot) Move(src, dst string) error {
	_, err := f.invoke("Move", src, dst)
	return err
}

// Copy copies the file src to dst, overwriting dst.
func (f FSRoot) Copy(src, dst string) error {
	_, err := f.invoke("Copy", src, dst)
	return err
}

// bin keeps a nil byte slice bytes: msgpack writes a nil []byte as nil, and
// a write of nothing must still send (empty) bytes.
func bin(data []byte) []byte {
	if data == nil {
		return []byte{}
	}
	return data
}
