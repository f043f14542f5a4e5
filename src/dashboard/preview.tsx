import * as AC from "adaptivecards";
import { useEffect, useRef, useState } from "preact/hooks";
import { markdownToHtml } from "./markdown.js";

/** Teams' light theme, as close as the renderer's host config gets to it. */
const hostConfig = new AC.HostConfig({
  fontFamily: "'Segoe UI', system-ui, -apple-system, sans-serif",
  spacing: { small: 4, default: 8, medium: 16, large: 20, extraLarge: 28, padding: 16 },
  fontSizes: { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 },
  fontWeights: { lighter: 300, default: 400, bolder: 600 },
  actions: {
    maxActions: 6,
    buttonSpacing: 8,
    actionsOrientation: "horizontal",
    actionAlignment: "left",
    showCard: { actionMode: "inline" },
  },
  containerStyles: {
    default: {
      backgroundColor: "#FFFFFF",
      foregroundColors: {
        default: { default: "#242424", subtle: "#616161" },
        accent: { default: "#4F52B2", subtle: "#4F52B2" },
        good: { default: "#0E700E", subtle: "#0E700E" },
        warning: { default: "#835B00", subtle: "#835B00" },
        attention: { default: "#C4314B", subtle: "#C4314B" },
      },
    },
    emphasis: { backgroundColor: "#F5F5F5", foregroundColors: { default: { default: "#242424", subtle: "#616161" } } },
  },
});

// TextBlocks render Markdown the way Teams does; the converter escapes all HTML first.
AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
  result.outputHtml = markdownToHtml(text);
  result.didProcess = true;
};

/**
 * Replaces `${field}` with the chosen recipient's value for the preview. Only plain names are
 * previewed; expressions with functions are evaluated by Herald when it sends, and stay as written here.
 */
export function personalise<T>(value: T, fields: Record<string, string>): T {
  if (typeof value === "string") return value.replace(/\$\{(\w+)\}/g, (m, k: string) => fields[k] ?? m) as T;
  if (Array.isArray(value)) return value.map((v) => personalise(v, fields)) as T;
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, personalise(v, fields)])) as T;
  return value;
}

/** The card the message becomes in Teams: the card itself, or the text as a TextBlock. */
export function cardOf(kind: "text" | "markdown" | "card", body: string): { card?: unknown; error?: string } {
  if (kind === "card") {
    try {
      return { card: JSON.parse(body) };
    } catch (e) {
      return { error: `The card is not valid JSON: ${(e as Error).message}` };
    }
  }
  return { card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: body, wrap: true }] } };
}

/** The live preview, drawn by Microsoft's Adaptive Cards renderer in a Teams-like chat bubble. */
export function Preview(props: { kind: "text" | "markdown" | "card"; body: string; fields: Record<string, string> }) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    el.replaceChildren();
    if (props.kind === "text") {
      // Plain text is shown as text: textContent never parses HTML.
      const p = document.createElement("p");
      p.className = "plain";
      p.textContent = personalise(props.body, props.fields);
      el.appendChild(p);
      setError("");
      return;
    }
    const { card, error: parseError } = cardOf(props.kind, props.body);
    if (parseError || !card) {
      setError(parseError ?? "");
      return;
    }
    try {
      const ac = new AC.AdaptiveCard();
      ac.hostConfig = hostConfig;
      ac.onExecuteAction = () => undefined;
      ac.parse(personalise(card, props.fields), new AC.SerializationContext());
      const rendered = ac.render();
      if (rendered) el.appendChild(rendered);
      setError("");
    } catch (e) {
      setError(`The renderer refused the card: ${(e as Error).message}`);
    }
  }, [props.kind, props.body, props.fields]);
  return (
    <section class="preview" aria-label="Preview">
      <h2>Preview</h2>
      <div class="bubble">
        <div class="bot">Herald</div>
        <div ref={host} class="card-host" data-testid="preview" />
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}
