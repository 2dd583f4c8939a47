package yao

import (
	"fmt"
	"strings"
	"time"
)

// HTTPClient makes HTTP requests to the hosts the runtime's `http_allow`
// lists, with the methods of Yao's `http` processes (docs/ABI.md §7). Use
// the package's HTTP value:
//
//	resp, err := yao.HTTP.Get("http://api.internal:8080/users",
//		yao.WithQuery("page", "2"), yao.WithHeader("X-Token", token))
//	resp, err := yao.HTTP.Post(url, map[string]any{"name": "Ada"},
//		yao.WithTimeout(2*time.Second))
//	resp, err := yao.HTTP.Post(url, map[string]any{"user": "ada"},
//		yao.WithFile("avatar", "uploads/ada.png")) // multipart/form-data
//
// A payload of nil sends no body, []byte is sent as it is (as
// application/octet-stream unless a Content-Type header says otherwise), a
// string as text/plain, anything else as JSON. A Post with WithFile options
// uploads files from the runtime's fs root "data" instead (see WithFile).
//
// Every status, 4xx and 5xx included, is a Response; the error is for what
// kept the request from being answered: 400 a bad URL, method or argument,
// 403 a host not in http_allow (refused before any connection), 408 a
// timeout, 413 a response body over the runtime's cap, 502 a failed
// connection or an unreadable response. Redirects are not followed.
type HTTPClient struct{}

// HTTP is the script's HTTP client.
var HTTP HTTPClient

// Response is an HTTP answer as Yao gives it.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Headers maps each lowercased header name to its values.
	Headers map[string][]string
	// Data is the body: decoded JSON for application/json and */*+json
	// (a string when it is not valid JSON), []byte for a body that is not
	// UTF-8 or is application/octet-stream, a string otherwise, nil when
	// empty.
	Data any
}

// Header returns the first value of the header name (in any case), or ""
// when the response has none.
func (r *Response) Header(name string) string {
	if values := r.Headers[strings.ToLower(name)]; len(values) > 0 {
		return values[0]
	}
	return ""
}

// HTTPOption sets the query, headers, timeout or (for Post) the uploaded
// files of a request.
type HTTPOption func(*httpOptions)

type httpOptions struct {
	query   map[string][]string
	headers map[string][]string
	files   map[string]any
	timeout time.Duration
}

// WithQuery adds key=value to the URL's query (a key given more than once is
// sent with every value).
func WithQuery(key, value string) HTTPOption {
	return func(o *httpOptions) { o.query = appendPair(o.query, key, value) }
}

// WithHeader adds a request header (a name given more than once is sent
// with every value).
func WithHeader(name, value string) HTTPOption {
	return func(o *httpOptions) { o.headers = appendPair(o.headers, name, value) }
}

// WithTimeout sets the request's timeout, rounded up to a millisecond. The
// runtime caps it by its `http_timeout_ms` and by what is left of the
// script call's own timeout.
func WithTimeout(timeout time.Duration) HTTPOption {
	return func(o *httpOptions) { o.timeout = timeout }
}

// WithFile uploads the file at path, relative to the runtime's fs root
// "data", as the form field `field` (Yao's http.Post `files`): the request
// then goes as multipart/form-data, its Content-Type set by the runtime, with
// one part per file and, when the payload is a map, one text field per entry
// (strings as they are, numbers and bools as text, nil empty, arrays and
// maps as JSON); any other payload but nil is a 400. A field given twice
// keeps the last path. For Post only: any other method answers a 400 without
// calling the host. The runtime refuses a path outside the root (403), a
// missing file (404) and more than http_max_upload_bytes (default 256 MiB)
// in all (413), before any connection (docs/ABI.md §7).
func WithFile(field, path string) HTTPOption {
	return func(o *httpOptions) {
		if o.files == nil {
			o.files = map[string]any{}
		}
		o.files[field] = path
	}
}

func appendPair(m map[string][]string, key, value string) map[string][]string {
	if m == nil {
		m = map[string][]string{}
	}
	m[key] = append(m[key], value)
	return m
}

// pairs is a query or header map as the import takes it: nil when empty, a
// string for a single value, an array of strings for several.
func pairs(m map[string][]string) any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, values := range m {
		if len(values) == 1 {
			out[k] = values[0]
		} else {
			out[k] = values
		}
	}
	return out
}

// send calls the http import's method with head (the args before the
// options) followed by Post's files, then the [query, headers, timeout_ms]
// every method ends its args with.
func (c HTTPClient) send(method string, head []any, opts []HTTPOption) (*Response, error) {
	var o httpOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	args := head
	if method == "Post" {
		var files any // nil when there are none: a plain request
		if len(o.files) > 0 {
			files = o.files
		}
		args = append(args, files)
	} else if len(o.files) > 0 {
		return nil, Errorf(400, "http.%s: WithFile uploads go with Post only (Yao's http.Post)", method)
	}
	var timeout any
	if o.timeout > 0 {
		timeout = int64((o.timeout + time.Millisecond - 1) / time.Millisecond)
	}
	return c.request(method, append(args, pairs(o.query), pairs(o.headers), timeout)...)
}

// request calls the http import with args, trailing nils left out.
func (HTTPClient) request(method string, args ...any) (*Response, error) {
	for len(args) > 0 && args[len(args)-1] == nil {
		args = args[:len(args)-1]
	}
	what := "http." + method
	answer, err := invoke(what, args, func(encoded []byte) ([]byte, bool) { return hostHTTP(method, encoded) })
	value, err := decodeAnswer[any](what, answer, err)
	if err != nil {
		return nil, err
	}
	return decodeResponse(what, value)
}

// Get sends a GET request.
func (c HTTPClient) Get(url string, opts ...HTTPOption) (*Response, error) {
	return c.send("Get", []any{url}, opts)
}

// Post sends a POST request with payload as its body, or, with WithFile
// options, uploads those files as multipart/form-data with payload's
// entries as form fields (a map payload, or nil).
func (c HTTPClient) Post(url string, payload any, opts ...HTTPOption) (*Response, error) {
	return c.send("Post", []any{url, payload}, opts)
}

// Put sends a PUT request with payload as its body.
func (c HTTPClient) Put(url string, payload any, opts ...HTTPOption) (*Response, error) {
	return c.send("Put", []any{url, payload}, opts)
}

// Patch sends a PATCH request with payload as its body.
func (c HTTPClient) Patch(url string, payload any, opts ...HTTPOption) (*Response, error) {
	return c.send("Patch", []any{url, payload}, opts)
}

// Delete sends a DELETE request without a body (use Send for one).
func (c HTTPClient) Delete(url string, opts ...HTTPOption) (*Response, error) {
	return c.send("Delete", []any{url, nil}, opts)
}

// Head sends a HEAD request.
func (c HTTPClient) Head(url string, opts ...HTTPOption) (*Response, error) {
	return c.send("Head", []any{url, nil}, opts)
}

// Send sends a request with any method (GET, POST, PUT, PATCH, DELETE, HEAD
// or OPTIONS, in any case) and payload as its body (nil: none). It takes no
// files: uploads go with Post.
func (c HTTPClient) Send(method, url string, payload any, opts ...HTTPOption) (*Response, error) {
	return c.send("Send", []any{method, url, payload}, opts)
}

// decodeResponse reads Yao's {status, headers, data} map.
func decodeResponse(what string, value any) (*Response, error) {
	m, ok := value.(map[string]any)
	if !ok {
		return nil, Errorf(500, "%s returned %T instead of a response map", what, value)
	}
	status, ok := m["status"].(int64)
	if !ok {
		return nil, Errorf(500, "%s returned a response without an integer status", what)
	}
	resp := &Response{Status: int(status), Headers: map[string][]string{}, Data: m["data"]}
	headers, _ := m["headers"].(map[string]any)
	for name, values := range headers {
		switch v := values.(type) {
		case []any:
			for _, x := range v {
				resp.Headers[name] = append(resp.Headers[name], fmt.Sprint(x))
			}
		case string:
			resp.Headers[name] = []string{v}
		}
	}
	return resp, nil
}
