// Server-Sent Events framing (the subset the decider's stream uses: `event:`, `data:` and
// `:` comment lines, frames separated by a blank line). EventSource cannot send an
// Authorization header, so the page reads the stream with fetch and parses it here.

export interface SseFrame {
  readonly event: string;
  readonly data: string;
}

/** The complete frames in `buffer`, and what is left of an incomplete one. */
export function parseSse(buffer: string): { frames: SseFrame[]; rest: string } {
  const text = buffer.replace(/\r\n?/g, "\n");
  const parts = text.split("\n\n");
  const rest = parts.pop() ?? "";
  const frames: SseFrame[] = [];
  for (const part of parts) {
    let event = "message";
    const data: string[] = [];
    for (const line of part.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length > 0) frames.push({ event, data: data.join("\n") });
  }
  return { frames, rest };
}
