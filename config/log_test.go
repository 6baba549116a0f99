package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A made-up token in Discord's shape, and a master key holding characters
// that JSON and Go quoting escape.
const (
	testToken     = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz01234"
	testMasterKey = `k<e>y&"quoted"\slash+/=`
)

type identify struct {
	Op int
	D  struct {
		Token   string
		Intents int
	}
}

type tokenStringer struct{}

func (tokenStringer) String() string { return "stringer " + testToken }

type tokenValuer struct{}

func (tokenValuer) LogValue() slog.Value { return slog.StringValue("valuer " + testToken) }

// newTestLogger returns a logger at debug level writing to a buffer.
func newTestLogger(t *testing.T, format string, terminal bool) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	l, err := NewLogger(&buf, terminal, Log{Level: "debug", Format: format}, testToken, testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	return l, &buf
}

func TestRedaction(t *testing.T) {
	payload, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": testToken, "key": testMasterKey}})
	var id identify
	id.Op, id.D.Token, id.D.Intents = 2, testToken, 513
	logs := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{"IdentifyPayload", func(l *slog.Logger) { l.Debug("sending payload", slog.String("data", string(payload))) }},
		{"Message", func(l *slog.Logger) { l.Info("token is " + testToken + " key is " + testMasterKey) }},
		{"Struct", func(l *slog.Logger) { l.Info("x", slog.Any("payload", id)) }},
		{"StructPointer", func(l *slog.Logger) { l.Info("x", slog.Any("payload", &id)) }},
		{"Map", func(l *slog.Logger) {
			l.Info("x", slog.Any("headers", http.Header{"Authorization": {"Bot " + testToken}}))
		}},
		{"Error", func(l *slog.Logger) {
			l.Error("x", slog.Any("err", fmt.Errorf("post: %w", errors.New("bad token "+testToken))))
		}},
		{"Bytes", func(l *slog.Logger) { l.Info("x", slog.Any("body", payload)) }},
		{"Stringer", func(l *slog.Logger) { l.Info("x", slog.Any("s", tokenStringer{})) }},
		{"LogValuer", func(l *slog.Logger) { l.Info("x", slog.Any("v", tokenValuer{})) }},
		{"Group", func(l *slog.Logger) {
			l.Info("x", slog.Group("req", slog.String("auth", "Bot "+testToken),
				slog.Group("inner", slog.Any("m", map[string]string{"k": testMasterKey}))))
		}},
		{"WithAttrs", func(l *slog.Logger) { l.With("auth", "Bot "+testToken).Info("x") }},
		{"WithGroup", func(l *slog.Logger) {
			l.WithGroup("g").With(slog.Any("id", id)).WithGroup(testToken).Info("x", "k", testMasterKey)
		}},
		{"Key", func(l *slog.Logger) { l.Info("x", slog.Int(testToken, 1)) }},
	}
	formats := []struct {
		format   string
		terminal bool
	}{{"json", false}, {"text", false}, {"auto", true}, {"auto", false}}
	for _, f := range formats {
		for _, lg := range logs {
			t.Run(fmt.Sprintf("%s/terminal=%v/%s", f.format, f.terminal, lg.name), func(t *testing.T) {
				l, buf := newTestLogger(t, f.format, f.terminal)
				lg.log(l)
				out := buf.String()
				if !strings.Contains(out, Redacted) {
					t.Errorf("got=%s, want %s in it", out, Redacted)
				}
				for _, s := range spellings([]string{testToken, testMasterKey}) {
					if strings.Contains(out, s) {
						t.Errorf("got=%s, contains secret spelling %q", out, s)
					}
				}
				for _, part := range []string{"abcdefghijklmnop", `k<e>y`, `k\u003ce\u003ey`} {
					if strings.Contains(out, part) {
						t.Errorf("got=%s, contains part of a secret %q", out, part)
					}
				}
			})
		}
	}
}

// TestRedactionKeepsOtherLines checks that lines without secrets are
// written exactly as the wrapped handler would write them.
func TestRedactionKeepsOtherLines(t *testing.T) {
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	log := func(l *slog.Logger) {
		l.Info("not a secret", "s", "not a secret", "n", 42, "d", time.Second,
			slog.Group("g", slog.String("t", "tokenish but not the token")), "e", errors.New("plain error"))
	}
	var plainOut, redactedOut bytes.Buffer
	log(slog.New(slog.NewJSONHandler(&plainOut, &slog.HandlerOptions{ReplaceAttr: noTime})))
	log(slog.New(NewRedactingHandler(slog.NewJSONHandler(&redactedOut, &slog.HandlerOptions{ReplaceAttr: noTime}), testToken)))
	if plainOut.String() != redactedOut.String() {
		t.Errorf("got=%s\nwant %s", redactedOut.String(), plainOut.String())
	}
}

func TestRedactionShortSecretsIgnored(t *testing.T) {
	var buf bytes.Buffer
	slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil), "a", "12345678")).Info("a 12345678", "n", 12345678)
	if got := buf.String(); strings.Contains(got, "12345678") || !strings.Contains(got, `"msg":"a [REDACTED]"`) {
		t.Errorf("got=%s, want the 8-character secret redacted everywhere and the 1-character one kept", got)
	}
}

// TestRedactionURLTokens: interaction and webhook tokens, which the
// handler is not given, are found by their place in a URL, in any text: a
// *url.Error from net/http, disgo's endpoint attribute, a message.
func TestRedactionURLTokens(t *testing.T) {
	const tok = "aW50ZXJhY3Rpb246MTI5MzQ1Njc4OTAxMjM0NTY3ODpYeXo.Ab-c_D"
	urlErr := &url.Error{Op: "Post", URL: "http://127.0.0.1:1/api/v10/interactions/1293456789012345678/" + tok + "/callback",
		Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		keep string
	}{
		{"URLError", func(l *slog.Logger) { l.Warn("x", "err", urlErr) }, "/interactions/1293456789012345678/" + Redacted + "/callback"},
		{"WrappedURLErrorString", func(l *slog.Logger) {
			l.Error("x", "err", fmt.Errorf("answer: %w", urlErr).Error())
		}, "connection refused"},
		{"WebhookPath", func(l *slog.Logger) {
			l.Debug("new request", "endpoint", "/webhooks/1293456789012345678/"+tok+"/messages/@original")
		}, "/webhooks/1293456789012345678/" + Redacted + "/messages/@original"},
		{"FollowUp", func(l *slog.Logger) { l.Info(`Post "/webhooks/12/` + tok + `?wait=true"`) }, "?wait=true"},
		{"Query", func(l *slog.Logger) { l.Info("x", "url", "https://example.com/cb?code="+tok+"&state=1") }, "&state=1"},
		{"Group", func(l *slog.Logger) {
			l.Info("x", slog.Group("rq", slog.Any("url", urlErr.URL)))
		}, Redacted},
	}
	for _, f := range []string{"json", "text"} {
		for _, tt := range tests {
			t.Run(f+"/"+tt.name, func(t *testing.T) {
				l, buf := newTestLogger(t, f, false)
				tt.log(l)
				out := buf.String()
				if strings.Contains(out, tok) || strings.Contains(out, "aW50ZXJhY3Rpb24") {
					t.Errorf("got=%s, contains the token", out)
				}
				if !strings.Contains(out, tt.keep) {
					t.Errorf("got=%s, want %q kept", out, tt.keep)
				}
			})
		}
	}
}

func TestNewLogger(t *testing.T) {
	tests := []struct {
		name     string
		log      Log
		terminal bool
		wantJSON bool
		wantErr  string
	}{
		{"DefaultsJSON", Log{}, false, true, ""},
		{"AutoTerminal", Log{Level: "info", Format: "auto"}, true, false, ""},
		{"TextNotTerminal", Log{Level: "info", Format: "text"}, false, false, ""},
		{"JSONOnTerminal", Log{Level: "warn", Format: "json"}, true, true, ""},
		{"ErrLevel", Log{Level: "verbose"}, false, false,
			`log.level: "verbose" is not accepted; use one of debug, info, warn, error`},
		{"ErrFormat", Log{Format: "xml"}, false, false,
			`log.format: "xml" is not accepted; use one of auto, text, json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := NewLogger(&buf, tt.terminal, tt.log)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got=%v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l.Debug("hidden")
			l.Error("shown")
			out := buf.String()
			if strings.Contains(out, "hidden") || !strings.Contains(out, "shown") {
				t.Errorf("got=%q, want only the error line", out)
			}
			if isJSON := json.Valid(bytes.TrimSpace(buf.Bytes())); isJSON != tt.wantJSON {
				t.Errorf("got JSON=%v, want %v: %q", isJSON, tt.wantJSON, out)
			}
			if hasColor := strings.Contains(out, "\x1b["); hasColor != (tt.terminal && !tt.wantJSON) {
				t.Errorf("got colour=%v on terminal=%v: %q", hasColor, tt.terminal, out)
			}
		})
	}
}
