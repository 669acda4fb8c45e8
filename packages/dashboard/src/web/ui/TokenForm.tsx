// Asks for one of the decider's API tokens (api.tokens); kept in this tab's sessionStorage
// only, sent as `Authorization: Bearer` to this decider and nowhere else.
import { useState } from "preact/hooks";

export function TokenForm({
  unauthorized,
  onSave,
}: {
  unauthorized: boolean;
  onSave: (token: string) => void;
}) {
  const [value, setValue] = useState("");
  return (
    <form
      class="banner token"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) onSave(value.trim());
      }}
    >
      <p>
        {unauthorized
          ? "The decider refused the token (or reads need one here): paste one of its API tokens."
          : "Commands need one of the decider's API tokens (api.tokens). It stays in this tab only."}
      </p>
      <label for="token">API token</label>
      <input
        id="token"
        type="password"
        autoComplete="off"
        value={value}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
      />
      <button type="submit">Use token</button>
    </form>
  );
}
