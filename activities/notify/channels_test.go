package notify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"dealflow/activities/notify"
)

var msg = notify.Message{Recipient: "alice", DealID: "d-1", DealName: "Big deal", Customer: "ACME",
	Milestone: "prospect", Kind: "escalation", Text: "Prospect identified is late", Link: "https://df.example/deals/d-1"}

// robot is a fake chat robot: it records requests and answers what reply
// says.
type robot struct {
	mu       sync.Mutex
	bodies   []map[string]any
	requests []*http.Request
	status   int
	answer   string
	delay    time.Duration
}

func newRobot(t *testing.T, status int, answer string) (*robot, *httptest.Server) {
	r := &robot{status: status, answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("request body is not JSON: %q", b)
		}
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.requests = append(r.requests, req)
		status, answer, delay := r.status, r.answer, r.delay
		r.mu.Unlock()
		time.Sleep(delay)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *robot) last(t *testing.T) (map[string]any, *http.Request) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bodies) == 0 {
		t.Fatal("the robot got no request")
	}
	return r.bodies[len(r.bodies)-1], r.requests[len(r.requests)-1]
}

func wantErr(t *testing.T, what string, err error, permanent bool) {
	t.Helper()
	var se *notify.SendError
	if !errors.As(err, &se) {
		t.Errorf("%s: %v, want a *SendError", what, err)
		return
	}
	if se.Permanent != permanent || notify.IsPermanent(err) != permanent {
		t.Errorf("%s: %v: permanent = %v, want %v", what, err, se.Permanent, permanent)
	}
}

func TestWebhookPostsTheMessage(t *testing.T) {
	r, srv := newRobot(t, http.StatusNoContent, "")
	ch := notify.NewWebhook(srv.URL+"/hook", nil)
	if err := ch.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	body, req := r.last(t)
	if req.Method != http.MethodPost || req.URL.Path != "/hook" || !strings.HasPrefix(req.Header.Get("Content-Type"), "application/json") {
		t.Errorf("request %s %s %s", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
	}
	for k, v := range map[string]string{"recipient": "alice", "deal_id": "d-1", "kind": "escalation",
		"text": msg.Text, "link": msg.Link, "deal_name": "Big deal", "milestone": "prospect"} {
		if body[k] != v {
			t.Errorf("body[%s] = %v, want %q", k, body[k], v)
		}
	}
	if !strings.HasPrefix(ch.Name(), "webhook:") || strings.Contains(ch.Name(), srv.URL) {
		t.Errorf("name %q", ch.Name())
	}
}

func TestHTTPStatusesClassify(t *testing.T) {
	for _, c := range []struct {
		status    int
		permanent bool
	}{
		{http.StatusBadRequest, true}, {http.StatusForbidden, true}, {http.StatusNotFound, true},
		{http.StatusTooManyRequests, false}, {http.StatusInternalServerError, false}, {http.StatusBadGateway, false},
	} {
		_, srv := newRobot(t, c.status, "nope")
		for _, ch := range []notify.Channel{notify.NewWebhook(srv.URL, nil), notify.NewSlack(srv.URL, nil),
			notify.NewWeCom(srv.URL, nil), notify.NewFeishu(srv.URL, "", nil)} {
			err := ch.Send(t.Context(), msg)
			wantErr(t, ch.Name()+" "+http.StatusText(c.status), err, c.permanent)
			var se *notify.SendError
			if errors.As(err, &se) && se.Status != c.status {
				t.Errorf("%s: status %d, want %d", ch.Name(), se.Status, c.status)
			}
		}
	}
}

func TestNetworkErrorsAndTimeoutsAreRetryable(t *testing.T) {
	_, srv := newRobot(t, 200, `{"errcode":0}`)
	url := srv.URL
	srv.Close() // connection refused from now on
	wantErr(t, "refused", notify.NewWeCom(url+"/cgi-bin/webhook/send?key=SECRET", nil).Send(t.Context(), msg), false)
	err := notify.NewWebhook(url+"/?key=SECRET", nil).Send(t.Context(), msg)
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error leaks the URL's key: %v", err)
	}

	slow, srv2 := newRobot(t, 200, "ok")
	slow.delay = 300 * time.Millisecond
	client := &http.Client{Timeout: 50 * time.Millisecond}
	wantErr(t, "timeout", notify.NewSlack(srv2.URL, client).Send(t.Context(), msg), false)
}

func TestWeCom(t *testing.T) {
	r, srv := newRobot(t, 200, `{"errcode":0,"errmsg":"ok"}`)
	ch := notify.NewWeCom(srv.URL+"/cgi-bin/webhook/send?key=k1", nil)
	if err := ch.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	body, req := r.last(t)
	if req.URL.Query().Get("key") != "k1" {
		t.Errorf("key %q", req.URL.Query().Get("key"))
	}
	text, _ := body["text"].(map[string]any)
	content, _ := text["content"].(string)
	if body["msgtype"] != "text" || !strings.Contains(content, msg.Text) || !strings.Contains(content, "@alice") ||
		!strings.Contains(content, "Big deal (ACME)") || !strings.Contains(content, msg.Link) {
		t.Errorf("payload %v", body)
	}

	// Long texts are cut to the robot's 2048 bytes, on a rune boundary.
	long := msg
	long.Text = strings.Repeat("逾期", 1000)
	if err := ch.Send(t.Context(), long); err != nil {
		t.Fatal(err)
	}
	body, _ = r.last(t)
	content = body["text"].(map[string]any)["content"].(string)
	if len(content) > 2048 || !strings.HasSuffix(content, "…") {
		t.Errorf("content of %d bytes ending %q", len(content), content[len(content)-6:])
	}

	for answer, permanent := range map[string]bool{
		`{"errcode":93000,"errmsg":"invalid webhook url"}`:   true,
		`{"errcode":40008,"errmsg":"invalid message type"}`:  true,
		`{"errcode":45009,"errmsg":"api freq out of limit"}`: false,
		`{"errcode":-1,"errmsg":"system busy"}`:              false,
		`<html>gateway</html>`:                               false,
	} {
		r.mu.Lock()
		r.answer = answer
		r.mu.Unlock()
		err := ch.Send(t.Context(), msg)
		wantErr(t, answer, err, permanent)
	}
}

func TestFeishu(t *testing.T) {
	r, srv := newRobot(t, 200, `{"code":0,"msg":"success","data":{}}`)
	ch := notify.NewFeishu(srv.URL+"/open-apis/bot/v2/hook/abc", "", nil)
	if err := ch.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	body, _ := r.last(t)
	content, _ := body["content"].(map[string]any)
	if body["msg_type"] != "text" || !strings.Contains(content["text"].(string), msg.Text) {
		t.Errorf("payload %v", body)
	}
	if _, signed := body["sign"]; signed {
		t.Error("signed without a secret")
	}

	signed := notify.NewFeishu(srv.URL+"/open-apis/bot/v2/hook/abc", "s3cret", nil)
	before := time.Now().Unix()
	if err := signed.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	body, _ = r.last(t)
	ts, _ := body["timestamp"].(string)
	if ts == "" || ts < "1" || body["sign"] != notify.FeishuSign(ts, "s3cret") {
		t.Errorf("timestamp %q sign %v", ts, body["sign"])
	}
	if n, err := json.Number(ts).Int64(); err != nil || n < before || n > time.Now().Unix() {
		t.Errorf("timestamp %q is not now in seconds", ts)
	}
	// The signature scheme: base64(HMAC-SHA256(key = timestamp+"\n"+secret, "")).
	// Known value computed independently (Python's hmac module).
	if got := notify.FeishuSign("1599360473", "test"); got != feishuKnownSign {
		t.Errorf("FeishuSign = %s, want %s", got, feishuKnownSign)
	}

	for answer, permanent := range map[string]bool{
		`{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`: true,
		`{"code":9499,"msg":"Bad Request"}`:                       true,
		`{"code":11232,"msg":"frequency limited"}`:                false,
		`{"StatusCode":19001,"StatusMessage":"param invalid"}`:    true,
		`{"Extra":null,"StatusCode":0,"StatusMessage":"success"}`: false, // success, checked below
		`not json`: false,
	} {
		r.mu.Lock()
		r.answer = answer
		r.mu.Unlock()
		err := ch.Send(t.Context(), msg)
		if strings.Contains(answer, `"StatusCode":0`) {
			if err != nil {
				t.Errorf("legacy success answer: %v", err)
			}
			continue
		}
		wantErr(t, answer, err, permanent)
	}
}

const feishuKnownSign = "NVcdmaRhTlOqmXksontxmKEP4AYWAMD5VOczwSqarks="

func TestSlack(t *testing.T) {
	r, srv := newRobot(t, 200, "ok")
	ch := notify.NewSlack(srv.URL+"/services/T/B/X", nil)
	if err := ch.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	body, _ := r.last(t)
	if text, _ := body["text"].(string); len(body) != 1 || !strings.Contains(text, msg.Text) || !strings.Contains(text, "@alice") {
		t.Errorf("payload %v", body)
	}
	r.mu.Lock()
	r.status, r.answer = http.StatusForbidden, "invalid_token"
	r.mu.Unlock()
	err := ch.Send(t.Context(), msg)
	wantErr(t, "403", err, true)
	if !strings.Contains(err.Error(), "invalid_token") {
		t.Errorf("error %v does not carry Slack's reason", err)
	}
}

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	ch := notify.NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	if err := ch.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "notification" || rec["recipient"] != "alice" || rec["deal"] != "d-1" || rec["text"] != msg.Text {
		t.Errorf("log record %v", rec)
	}
	if ch.Name() != "log" {
		t.Errorf("name %q", ch.Name())
	}
}

// injected is a notification whose user-written parts (deal name,
// customer, comment) try every chat platform's mentions and links.
var injected = notify.Message{Recipient: "alice", DealID: "d-1", DealName: "Q3 <!channel> & co", Customer: `<at user_id="all">所有人</at>`,
	Kind: "comment", Text: "<!here> <!everyone> <@U123> <#C1> <!subteam^S1> <https://evil.example|Open dealflow> " +
		`<at user_id="ou_boss">Boss</at> [Open dealflow](https://evil.example) <@zhangsan> <font color="warning">x</font> a&b`,
	Link: "https://df.example/deals/d-1?tab=a&b=c"}

// sentJSON is the body a robot received, re-encoded with sorted keys.
func sentJSON(t *testing.T, r *robot) string {
	t.Helper()
	body, _ := r.last(t)
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestSlackNeutralisesMarkup: every '<', '>' and '&' of user text reaches
// Slack escaped, so no mention or labelled link survives.
func TestSlackNeutralisesMarkup(t *testing.T) {
	r, srv := newRobot(t, 200, "ok")
	if err := notify.NewSlack(srv.URL, nil).Send(t.Context(), injected); err != nil {
		t.Fatal(err)
	}
	want := `{"text":"[dealflow] @alice · Q3 \u0026lt;!channel\u0026gt; \u0026amp; co (\u0026lt;at user_id=\"all\"\u0026gt;所有人\u0026lt;/at\u0026gt;)\n` +
		`\u0026lt;!here\u0026gt; \u0026lt;!everyone\u0026gt; \u0026lt;@U123\u0026gt; \u0026lt;#C1\u0026gt; \u0026lt;!subteam^S1\u0026gt; ` +
		`\u0026lt;https://evil.example|Open dealflow\u0026gt; \u0026lt;at user_id=\"ou_boss\"\u0026gt;Boss\u0026lt;/at\u0026gt; ` +
		`[Open dealflow](https://evil.example) \u0026lt;@zhangsan\u0026gt; \u0026lt;font color=\"warning\"\u0026gt;x\u0026lt;/font\u0026gt; a\u0026amp;b\n` +
		`https://df.example/deals/d-1?tab=a\u0026amp;b=c"}`
	if got := sentJSON(t, r); got != want {
		t.Errorf("Slack got\n%s\nwant\n%s", got, want)
	}
	body, _ := r.last(t)
	if text := body["text"].(string); strings.ContainsAny(text, "<>") {
		t.Errorf("a control character reached Slack unescaped: %q", text)
	}
}

// TestFeishuNeutralisesMarkup: Feishu's tags (<at>, <font>) and [label](url)
// links arrive with full-width brackets, which Feishu does not parse.
func TestFeishuNeutralisesMarkup(t *testing.T) {
	r, srv := newRobot(t, 200, `{"code":0,"msg":"success"}`)
	if err := notify.NewFeishu(srv.URL, "", nil).Send(t.Context(), injected); err != nil {
		t.Fatal(err)
	}
	want := `{"content":{"text":"[dealflow] @alice · Q3 ＜!channel＞ \u0026 co (＜at user_id=\"all\"＞所有人＜/at＞)\n` +
		`＜!here＞ ＜!everyone＞ ＜@U123＞ ＜#C1＞ ＜!subteam^S1＞ ＜https://evil.example|Open dealflow＞ ` +
		`＜at user_id=\"ou_boss\"＞Boss＜/at＞ ［Open dealflow］(https://evil.example) ＜@zhangsan＞ ＜font color=\"warning\"＞x＜/font＞ a\u0026b\n` +
		`https://df.example/deals/d-1?tab=a\u0026b=c"},"msg_type":"text"}`
	if got := sentJSON(t, r); got != want {
		t.Errorf("Feishu got\n%s\nwant\n%s", got, want)
	}
	body, _ := r.last(t)
	if text := body["content"].(map[string]any)["text"].(string); strings.ContainsAny(text, "<>") || strings.Contains(text, "](") {
		t.Errorf("markup reached Feishu live: %q", text)
	}
}

// TestWeComMentionsNoOne: a WeCom text message is shown as is and mentions
// only mentioned_list, which dealflow never sends: the body is exactly
// msgtype and content, whatever the text says.
func TestWeComMentionsNoOne(t *testing.T) {
	r, srv := newRobot(t, 200, `{"errcode":0,"errmsg":"ok"}`)
	if err := notify.NewWeCom(srv.URL, nil).Send(t.Context(), injected); err != nil {
		t.Fatal(err)
	}
	want := `{"msgtype":"text","text":{"content":"[dealflow] @alice · Q3 \u003c!channel\u003e \u0026 co (\u003cat user_id=\"all\"\u003e所有人\u003c/at\u003e)\n` +
		`\u003c!here\u003e \u003c!everyone\u003e \u003c@U123\u003e \u003c#C1\u003e \u003c!subteam^S1\u003e \u003chttps://evil.example|Open dealflow\u003e ` +
		`\u003cat user_id=\"ou_boss\"\u003eBoss\u003c/at\u003e [Open dealflow](https://evil.example) \u003c@zhangsan\u003e \u003cfont color=\"warning\"\u003ex\u003c/font\u003e a\u0026b\n` +
		`https://df.example/deals/d-1?tab=a\u0026b=c"}}`
	if got := sentJSON(t, r); got != want {
		t.Errorf("WeCom got\n%s\nwant\n%s", got, want)
	}
}
