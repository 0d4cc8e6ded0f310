// Reads an NDJSON progress stream from a POST (pull, deploy) and hands each event to a callback.
// Usage: streamPost(url, formData, (event) => {...}) -> Promise resolving to the last event.
async function streamPost(url, body, onEvent) {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const response = await fetch(url, {
    method: "POST",
    body,
    headers: { "X-CSRFToken": csrf, "Accept": "application/x-ndjson" },
    credentials: "same-origin",
  });
  if (!response.ok || !response.body) {
    const text = await response.text();
    const event = { type: "error", message: text || `HTTP ${response.status}`, status: response.status };
    onEvent(event);
    return event;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let last = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.trim()) {
        last = JSON.parse(line);
        onEvent(last);
      }
    }
  }
  return last;
}
window.streamPost = streamPost;
