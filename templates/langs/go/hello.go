{{#api}}
package main

import (
	"encoding/json"
	"io"
	"net/http"
	"unicode/utf8"

	"{{service.name}}/internal/logging"
)

// hello answers GET /hello?name=NAME with {"message": "hello, NAME"}: the
// example route. Replace it with yours; keep calls to other services on
// h.client, which sends the request's traceparent along.
type hello struct {
	log    *logging.Logger
	client *http.Client // tracing.NewClient: propagates the trace
	// greeter, when set, is the URL of another service asked for the
	// greeting (GET greeter?name=NAME answering the same JSON): how a
	// call across services looks. Empty: answer here.
	greeter string
}

type helloResponse struct {
	Message string `json:"message"`
}

const maxName = 100

func (h *hello) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "world"
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxName {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "name must be UTF-8 text of at most 100 characters"})
		return
	}
	if h.greeter == "" {
		writeJSON(w, http.StatusOK, helloResponse{Message: "hello, " + name})
		return
	}
	msg, err := h.ask(r, name)
	if err != nil {
		h.log.Error(r.Context(), "greeter failed", "err", err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "greeter unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, helloResponse{Message: msg})
}

// ask gets the greeting from the greeter service. The request is made with
// r's context, so the client sends traceparent: same trace, new parent id.
func (h *hello) ask(r *http.Request, name string) (string, error) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, h.greeter, nil)
	if err != nil {
		return "", err
	}
	q := req.URL.Query()
	q.Set("name", name)
	req.URL.RawQuery = q.Encode()
	resp, err := h.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &statusError{resp.StatusCode}
	}
	var out helloResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return "", err
	}
	return out.Message, nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "greeter answered " + http.StatusText(e.code) }

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
{{/api}}
