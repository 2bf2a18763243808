package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one HTTP send when no client is given.
const DefaultTimeout = 10 * time.Second

const maxResponseBody = 64 << 10

// httpChannel is what every webhook-style channel shares: a URL, a client
// and the error classification.
type httpChannel struct {
	name   string
	url    string
	client *http.Client
}

func newHTTPChannel(kind, rawURL string, client *http.Client) httpChannel {
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	return httpChannel{name: channelName(kind, rawURL), url: rawURL, client: client}
}

// channelName is kind:<hash of the URL>: stable for one configuration,
// distinct for two robots of one kind, and without the URL's secret key.
func channelName(kind, rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return kind + ":" + hex.EncodeToString(sum[:4])
}

// post sends payload as JSON and returns the response body of a 2xx answer.
// Network errors, timeouts, 429 and 5xx are retryable; other statuses are
// permanent.
func (c httpChannel) post(ctx context.Context, payload any) ([]byte, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, &SendError{Channel: c.name, Permanent: true, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, &SendError{Channel: c.name, Permanent: true, Err: err}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "dealflow-notify/1")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, &SendError{Channel: c.name, Err: redactURL(err)}
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return nil, &SendError{Channel: c.name, Status: resp.StatusCode, Err: fmt.Errorf("reading the response: %w", err)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return respBody, nil
	}
	retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return nil, &SendError{Channel: c.name, Status: resp.StatusCode, Permanent: !retry, Err: errors.New(snippet(respBody))}
}

// redactURL drops the URL from a client error: robot URLs carry their key.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "empty response"
	}
	return truncate(s, 300)
}

// Webhook POSTs each Message as JSON (see Message's fields) to a URL; any
// 2xx answer is success.
type Webhook struct{ httpChannel }

// NewWebhook returns a generic JSON webhook channel. A nil client gets one
// with DefaultTimeout.
func NewWebhook(rawURL string, client *http.Client) *Webhook {
	return &Webhook{newHTTPChannel("webhook", rawURL, client)}
}

// Name is "webhook:" and a hash of the URL.
func (w *Webhook) Name() string { return w.name }

// Send posts m.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	_, err := w.post(ctx, m)
	return err
}

// Slack posts to a Slack incoming webhook: {"text": ...}. Slack answers 200
// "ok"; anything else is an error.
type Slack struct{ httpChannel }

// NewSlack returns a Slack incoming-webhook channel.
func NewSlack(rawURL string, client *http.Client) *Slack {
	return &Slack{newHTTPChannel("slack", rawURL, client)}
}

// Name is "slack:" and a hash of the URL.
func (s *Slack) Name() string { return s.name }

// Send posts m's text, escaped for Slack's mrkdwn (see slackText).
func (s *Slack) Send(ctx context.Context, m Message) error {
	_, err := s.post(ctx, map[string]string{"text": formatText(m, slackText)})
	return err
}
