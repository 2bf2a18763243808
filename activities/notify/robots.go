package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// WeCom posts to a WeCom (企业微信) group robot:
// {"msgtype":"text","text":{"content":...}}. The robot answers HTTP 200 with
// {"errcode":0,"errmsg":"ok"}; a non-zero errcode is an error, retryable
// only for "system busy" (-1) and the rate limit (45009).
type WeCom struct{ httpChannel }

// weComMaxContent is the robot's limit on a text message, in bytes.
const weComMaxContent = 2048

var weComRetryable = []int{-1, 45009}

// NewWeCom returns a WeCom group-robot channel for a webhook URL such as
// https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=....
func NewWeCom(rawURL string, client *http.Client) *WeCom {
	return &WeCom{newHTTPChannel("wecom", rawURL, client)}
}

// Name is "wecom:" and a hash of the URL.
func (w *WeCom) Name() string { return w.name }

// Send posts m as a text message (see weComText: nothing in it is parsed,
// and it mentions no one).
func (w *WeCom) Send(ctx context.Context, m Message) error {
	payload := map[string]any{
		"msgtype": "text",
		"text":    map[string]any{"content": truncate(formatText(m, weComText), weComMaxContent)},
	}
	body, err := w.post(ctx, payload)
	if err != nil {
		return err
	}
	var resp struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.ErrCode == nil {
		return &SendError{Channel: w.name, Status: http.StatusOK, Err: fmt.Errorf("unexpected answer: %s", snippet(body))}
	}
	if *resp.ErrCode != 0 {
		return &SendError{Channel: w.name, Status: http.StatusOK, Code: *resp.ErrCode,
			Permanent: !slices.Contains(weComRetryable, *resp.ErrCode), Err: fmt.Errorf("%s", resp.ErrMsg)}
	}
	return nil
}

// Feishu posts to a Feishu/Lark custom bot:
// {"msg_type":"text","content":{"text":...}}, signed when the bot has a
// signing secret ("timestamp" and "sign" fields: base64 of HMAC-SHA256 with
// key timestamp+"\n"+secret over empty data). The bot answers
// {"code":0,...} (older deployments: {"StatusCode":0,...}); a non-zero code
// is an error, retryable only for the rate limit (11232).
type Feishu struct {
	httpChannel
	secret string
	now    func() time.Time
}

var feishuRetryable = []int{11232}

// NewFeishu returns a Feishu/Lark bot channel for a webhook URL such as
// https://open.feishu.cn/open-apis/bot/v2/hook/...; secret may be "".
func NewFeishu(rawURL, secret string, client *http.Client) *Feishu {
	return &Feishu{httpChannel: newHTTPChannel("feishu", rawURL, client), secret: secret, now: time.Now}
}

// Name is "feishu:" and a hash of the URL.
func (f *Feishu) Name() string { return f.name }

// Send posts m as a text message, its tags and links neutralised (see
// feishuText).
func (f *Feishu) Send(ctx context.Context, m Message) error {
	payload := map[string]any{
		"msg_type": "text",
		"content":  map[string]any{"text": formatText(m, feishuText)},
	}
	if f.secret != "" {
		ts := strconv.FormatInt(f.now().Unix(), 10)
		payload["timestamp"], payload["sign"] = ts, FeishuSign(ts, f.secret)
	}
	body, err := f.post(ctx, payload)
	if err != nil {
		return err
	}
	var resp struct {
		Code          *int   `json:"code"`
		Msg           string `json:"msg"`
		StatusCode    *int   `json:"StatusCode"`
		StatusMessage string `json:"StatusMessage"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || (resp.Code == nil && resp.StatusCode == nil) {
		return &SendError{Channel: f.name, Status: http.StatusOK, Err: fmt.Errorf("unexpected answer: %s", snippet(body))}
	}
	code, msg := 0, resp.Msg
	if resp.Code != nil {
		code = *resp.Code
	}
	if code == 0 && resp.StatusCode != nil {
		code, msg = *resp.StatusCode, resp.StatusMessage
	}
	if code != 0 {
		return &SendError{Channel: f.name, Status: http.StatusOK, Code: code,
			Permanent: !slices.Contains(feishuRetryable, code), Err: fmt.Errorf("%s", msg)}
	}
	return nil
}

// FeishuSign computes a Feishu custom bot's signature for a timestamp (Unix
// seconds, as sent) and the bot's signing secret.
func FeishuSign(timestamp, secret string) string {
	mac := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
