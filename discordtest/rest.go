package discordtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/disgoorg/snowflake/v2"
)

// call is one REST request being served.
type call struct {
	s      *Server
	r      *http.Request
	route  string
	body   []byte // the JSON body; payload_json of a multipart body
	files  []File // files of a multipart body
	reason string
}

// File is a file uploaded with a message (multipart/form-data).
type File struct {
	ID   snowflake.ID
	Name string
	Data []byte
}

// readMultipart splits a multipart/form-data body into payload_json and
// files, as Discord reads it.
func (c *call) readMultipart(raw []byte) error {
	_, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return err
		}
		if p.FormName() == "payload_json" {
			c.body = data
		} else if p.FileName() != "" {
			c.files = append(c.files, File{ID: c.s.newID(), Name: p.FileName(), Data: data})
		}
	}
}

// routeHandler serves a request and returns the status and a JSON-able body
// (nil: no body).
type routeHandler func(c *call) (int, any)

// apiError is Discord's error body.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Errors  any    `json:"errors,omitempty"`
}

func fail(status, code int, msg string) (int, any) {
	return status, apiError{Code: code, Message: msg}
}

// Discord's JSON error codes used by the fake.
const (
	codeUnknownChannel     = 10003
	codeUnknownGuild       = 10004
	codeUnknownMember      = 10007
	codeUnknownMessage     = 10008
	codeUnknownRole        = 10011
	codeUnknownUser        = 10013
	codeUnknownWebhook     = 10015
	codeUnknownBan         = 10026
	codeUnknownCommand     = 10063
	codeUnknownInteraction = 10062
	codeMissingAccess      = 50001
	codeCannotEditOthers   = 50005
	codeEmptyMessage       = 50006
	codeCannotDM           = 50007
	codeMissingPermissions = 50013
	codeInvalidRecipient   = 50033
	codeInvalidFormBody    = 50035
	codeAlreadyAcked       = 40060
)

func missingPermissions() (int, any) {
	return fail(http.StatusForbidden, codeMissingPermissions, "Missing Permissions")
}

// pathID parses a snowflake path parameter; ok is false if it is not one.
func (c *call) pathID(name string) (snowflake.ID, bool) {
	id, err := snowflake.Parse(c.r.PathValue(name))
	return id, err == nil
}

// decode unmarshals the body; an empty body decodes as {}.
func (c *call) decode(v any) error {
	if len(c.body) == 0 {
		return nil
	}
	return json.Unmarshal(c.body, v)
}

// badBody answers a body that does not decode.
func badBody(err error) (int, any) {
	return http.StatusBadRequest, apiError{Code: codeInvalidFormBody, Message: "Invalid Form Body", Errors: err.Error()}
}

// routes builds the HTTP handler: the gateway paths and every REST route.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /gw", s.serveGateway)
	mux.HandleFunc("GET /resume", s.serveGateway)
	add := func(method, route string, auth bool, h routeHandler) {
		mux.Handle(method+" "+apiPrefix+route, s.rest(route, specRouteFor(route), auth, h))
	}
	add("GET", "/gateway", false, s.getGateway)
	add("GET", "/gateway/bot", true, s.getGatewayBot)
	add("GET", "/users/@me", true, s.getCurrentUser)
	add("GET", "/users/{user_id}", true, s.getUser)
	add("POST", "/users/@me/channels", true, s.createDM)
	s.commandRoutes(add)
	s.interactionRoutes(add)
	s.channelRoutes(add)
	s.guildRoutes(add)
	s.webhookRoutes(mux)
	mux.Handle("/", s.rest("", "", false, s.unknownRoute))
	return mux
}

// specRouteFor maps a route to its OpenAPI path where they differ: disgo's
// GetGlobalCommand and GetGuildCommand use /command/{id}, singular.
func specRouteFor(route string) string {
	return strings.Replace(route, "/command/{command_id}", "/commands/{command_id}", 1)
}

// rest wraps a handler with fault injection, authentication, OpenAPI
// validation and recording.
func (s *Server) rest(route, specRoute string, auth bool, h routeHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		c := &call{s: s, r: r, route: route, body: body}
		multi := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
		var multiErr error
		if multi {
			// Two statements: readMultipart sets c.body to payload_json,
			// which a tuple assignment of nil would then overwrite.
			c.body = nil
			multiErr = c.readMultipart(body)
		}
		if v := r.Header.Get("X-Audit-Log-Reason"); v != "" {
			if u, err := url.QueryUnescape(v); err == nil {
				c.reason = u
			} else {
				c.reason = v
			}
		}
		hdr := http.Header{}
		var status int
		var resp any
		if multiErr != nil {
			status, resp = badBody(multiErr)
		} else {
			status, resp = s.serve(c, specRoute, auth, hdr, h)
		}
		var raw []byte
		if b, ok := resp.(rawBody); ok {
			raw = b
		} else if resp != nil {
			var err error
			if raw, err = json.Marshal(resp); err != nil {
				status, raw = http.StatusInternalServerError, []byte(`{"code":0,"message":"discordtest: `+err.Error()+`"}`)
			}
		}
		for k, v := range hdr {
			w.Header()[k] = v
		}
		if raw != nil && w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write(raw)

		h := r.Header.Clone()
		if h.Get("Authorization") != "" {
			h.Set("Authorization", "[redacted]")
		}
		rec := Request{
			Time: start, Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, apiPrefix), Query: r.URL.RawQuery,
			Route: route, Header: h, AuditLogReason: c.reason, Body: c.body, Files: c.files, Status: status, Response: raw,
			Duration: time.Since(start),
		}
		s.mu.Lock()
		rec.Seq = len(s.requests) + 1
		s.requests = append(s.requests, rec)
		s.bumpLocked()
		s.mu.Unlock()
		s.cfg.logger.Debug("discordtest request", slog.String("method", r.Method), slog.String("path", rec.Path), slog.Int("status", status))
	})
}

func (s *Server) serve(c *call, specRoute string, auth bool, hdr http.Header, h routeHandler) (int, any) {
	r := c.r
	if status, body, limited := s.globalLimit(hdr); limited {
		return status, body
	}
	if d := s.delayFor(r.Method, c.route); d > 0 {
		s.sleep(r.Context(), d)
	}
	if status, body, limited := s.rateLimit(r.Method, c.route, hdr); limited {
		return status, body
	}
	if status, ok := s.failure(r.Method, c.route); ok {
		return fail(status, 0, http.StatusText(status))
	}
	if auth && r.Header.Get("Authorization") != "Bot "+s.token {
		s.violate(r, c.route, ViolationAuth, "missing or wrong Authorization header")
		return fail(http.StatusUnauthorized, 0, "401: Unauthorized")
	}
	if s.spec != nil && specRoute != "" && len(c.body) > 0 && (strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || len(c.files) > 0) {
		if err := s.spec.validate(r.Method, specRoute, c.body); err != nil {
			if errors.Is(err, errNoOperation) {
				s.violate(r, c.route, ViolationSpec, err.Error())
				return fail(http.StatusNotFound, 0, "404: Not Found")
			}
			s.violate(r, c.route, ViolationSpec, err.Error())
			return http.StatusBadRequest, apiError{Code: codeInvalidFormBody, Message: "Invalid Form Body", Errors: err.Error()}
		}
	}
	return h(c)
}
