// Command alloy_template runs Grafana Alloy's stage.template with Go's own text/template.
//
// It does what the stage's Process does (grafana/alloy, internal/component/loki/process/stages,
// template.go): the extracted values that convert to strings become the template's data, the
// source's value also as .Value, the line as .Entry; an execution error leaves the extracted
// values as they were, an empty result removes the source, any other result replaces it.
// The functions are Alloy's own string and regex functions (its sprig and hash functions are
// not here: a template using one fails to parse, and the caller says so).
//
// Input, one JSON object a line: {"template", "source", "extracted": {...}, "entry"}.
// Output, one a line: {"extracted": {...}, "error": ""}, or {"error": "..."} when the template
// does not parse (Alloy would refuse the configuration).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

var functions = template.FuncMap{
	"ToLower":    strings.ToLower,
	"ToUpper":    strings.ToUpper,
	"Replace":    strings.Replace,
	"Trim":       strings.Trim,
	"TrimLeft":   strings.TrimLeft,
	"TrimRight":  strings.TrimRight,
	"TrimPrefix": strings.TrimPrefix,
	"TrimSuffix": strings.TrimSuffix,
	"TrimSpace":  strings.TrimSpace,
	"regexReplaceAll": func(regex string, s string, repl string) string {
		return regexp.MustCompile(regex).ReplaceAllString(s, repl)
	},
	"regexReplaceAllLiteral": func(regex string, s string, repl string) string {
		return regexp.MustCompile(regex).ReplaceAllLiteralString(s, repl)
	},
}

type request struct {
	Template  string         `json:"template"`
	Source    string         `json:"source"`
	Extracted map[string]any `json:"extracted"`
	Entry     string         `json:"entry"`
}

type answer struct {
	Extracted map[string]any `json:"extracted"`
	Failed    string         `json:"failed,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// asString converts an extracted value as the stages' getString does (JSON numbers are float64).
func asString(value any) (string, bool) {
	switch v := value.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func run(r request) answer {
	tmpl, err := template.New("pipeline_template").Funcs(functions).Parse(r.Template)
	if err != nil {
		return answer{Error: err.Error()}
	}
	if r.Extracted == nil {
		r.Extracted = map[string]any{}
	}
	data := make(map[string]any, len(r.Extracted)+2)
	for key, value := range r.Extracted {
		if s, ok := asString(value); ok {
			data[key] = s
			if key == r.Source {
				data["Value"] = s
			}
		}
	}
	data["Entry"] = r.Entry
	var out bytes.Buffer
	if err := tmpl.Execute(&out, data); err != nil {
		return answer{Extracted: r.Extracted, Failed: err.Error()}
	}
	if out.Len() == 0 {
		delete(r.Extracted, r.Source)
	} else {
		r.Extracted[r.Source] = out.String()
	}
	return answer{Extracted: r.Extracted}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			out.Encode(answer{Error: "bad request: " + err.Error()})
			continue
		}
		out.Encode(run(r))
	}
}
