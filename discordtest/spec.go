package discordtest

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// specURL is the name under which the OpenAPI document is registered with the
// schema compiler. It is never fetched.
const specURL = "file:///discord/openapi.json"

// SpecPath returns the absolute path of the copy of Discord's OpenAPI
// description kept in this package's testdata directory, found from the
// location of this source file. Tests in any package can pass it to WithSpec.
// It returns "" when the source tree is not available (a -trimpath binary).
func SpecPath() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	return filepath.Join(filepath.Dir(file), "testdata", "openapi.json")
}

// specs caches one loaded document per absolute path for the whole process:
// parsing and compiling the whole description is the expensive part.
var specs sync.Map // string -> *spec

// spec validates request bodies against one OpenAPI document. Schemas are
// compiled lazily, one per operation, and kept.
type spec struct {
	path string
	once sync.Once
	err  error
	doc  map[string]any

	mu       sync.Mutex // guards compiler (not goroutine-safe) and compiled
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

// loadSpec returns the process-wide validator for the document at path,
// reading it on first use.
func loadSpec(path string) (*spec, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("spec path: %w", err)
	}
	v, _ := specs.LoadOrStore(abs, &spec{path: abs})
	s := v.(*spec)
	s.once.Do(s.load)
	if s.err != nil {
		return nil, s.err
	}
	return s, nil
}

func (s *spec) load() {
	raw, err := os.ReadFile(s.path)
	if err != nil {
		s.err = fmt.Errorf("read openapi spec: %w", err)
		return
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		s.err = fmt.Errorf("parse openapi spec %s: %w", s.path, err)
		return
	}
	doc, ok := v.(map[string]any)
	if !ok {
		s.err = fmt.Errorf("openapi spec %s: not an object", s.path)
		return
	}
	allowDigitStrings(doc)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseRegexpEngine(lenientRegexp)
	if err := c.AddResource(specURL, doc); err != nil {
		s.err = fmt.Errorf("openapi spec %s: %w", s.path, err)
		return
	}
	s.doc, s.compiler = doc, c
	s.compiled = map[string]*jsonschema.Schema{}
}

// validate checks a JSON request body for the operation method+path of the
// spec ("/channels/{channel_id}/messages"). An operation the spec does not
// describe, or one without a JSON body schema, is an error only when the
// operation itself is missing.
func (s *spec) validate(method, path string, body []byte) error {
	sch, err := s.schema(method, path)
	if err != nil || sch == nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return sch.Validate(v)
}

// errNoOperation reports a route that the OpenAPI description does not have.
var errNoOperation = errors.New("operation not in the OpenAPI description")

func (s *spec) schema(method, path string) (*jsonschema.Schema, error) {
	key := method + " " + path
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.compiled[key]; ok {
		return sch, nil
	}
	paths, _ := s.doc["paths"].(map[string]any)
	item, _ := paths[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if op == nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, errNoOperation)
	}
	rb, _ := op["requestBody"].(map[string]any)
	content, _ := rb["content"].(map[string]any)
	if _, ok := content["application/json"]; !ok {
		s.compiled[key] = nil
		return nil, nil
	}
	loc := specURL + "#" + pointer("paths", path, strings.ToLower(method), "requestBody", "content", "application/json", "schema")
	sch, err := s.compiler.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("compile schema for %s %s: %w", method, path, err)
	}
	s.compiled[key] = sch
	return sch, nil
}

// validateResponse checks a JSON response body of the operation
// method+path, answered with status, against the schema the spec gives
// that answer; an answer the spec does not describe is an error.
func (s *spec) validateResponse(method, path string, status int, body []byte) error {
	code := strconv.Itoa(status)
	key := "response " + method + " " + path + " " + code
	s.mu.Lock()
	sch, ok := s.compiled[key]
	if !ok {
		paths, _ := s.doc["paths"].(map[string]any)
		item, _ := paths[path].(map[string]any)
		op, _ := item[strings.ToLower(method)].(map[string]any)
		responses, _ := op["responses"].(map[string]any)
		resp, _ := responses[code].(map[string]any)
		content, _ := resp["content"].(map[string]any)
		if _, json := content["application/json"]; !json {
			s.mu.Unlock()
			return fmt.Errorf("%s %s: no JSON answer %s in the OpenAPI description", method, path, code)
		}
		var err error
		sch, err = s.compiler.Compile(specURL + "#" + pointer("paths", path, strings.ToLower(method), "responses", code, "content", "application/json", "schema"))
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("compile the schema of %s %s's answer %s: %w", method, path, code, err)
		}
		s.compiled[key] = sch
	}
	s.mu.Unlock()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("answer is not JSON: %w", err)
	}
	return sch.Validate(v)
}

// pointer builds a URL-escaped JSON pointer from its tokens.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		t = strings.ReplaceAll(t, "~", "~0")
		t = strings.ReplaceAll(t, "/", "~1")
		b.WriteString("/")
		b.WriteString(url.PathEscape(t))
	}
	return b.String()
}

// digitString is what Discord accepts where the spec says integer: its README
// states that int-typed fields also take strings of digits.
var digitString = map[string]any{"type": "string", "pattern": "^-?[0-9]+$"}

// allowDigitStrings rewrites every schema whose type includes "integer" into
// anyOf[original, digit string], in place.
func allowDigitStrings(v any) {
	switch n := v.(type) {
	case []any:
		for i, e := range n {
			if isIntegerSchema(e) {
				n[i] = map[string]any{"anyOf": []any{e, digitString}}
			}
			allowDigitStrings(e)
		}
	case map[string]any:
		for k, e := range n {
			switch k {
			case "example", "examples", "default", "const", "enum":
				continue
			}
			if isIntegerSchema(e) {
				n[k] = map[string]any{"anyOf": []any{e, digitString}}
			}
			allowDigitStrings(e)
		}
	}
}

func isIntegerSchema(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	switch t := m["type"].(type) {
	case string:
		return t == "integer"
	case []any:
		for _, e := range t {
			if e == "integer" {
				return true
			}
		}
	}
	return false
}

// lenientRegexp compiles patterns with Go's regexp and accepts everything for
// the few patterns RE2 cannot express, rather than failing the whole schema.
func lenientRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp.Compile(s)
	if err != nil {
		return anyString(s), nil
	}
	return re, nil
}

// anyString is the jsonschema.Regexp lenientRegexp gives a pattern that
// Go's regexp cannot compile: it matches every string.
type anyString string

// String returns the pattern as written.
func (a anyString) String() string { return string(a) }

// MatchString accepts every string.
func (a anyString) MatchString(string) bool { return true }
