// Requests to the emulators' own APIs, relayed by the sandbox server (one origin, same bodies).

export const telegramUrl = (path) => `/telegram/_user/${path}`;
export const staffUrl = (path) => `/okdesk/_staff/${path}`;

/** A JSON request; a non-2xx answer throws an Error carrying the emulator's own message. */
export async function request(method, url, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) throw new Error(describeError(data) || `HTTP ${response.status}`);
  return data;
}

// Telegram's person API answers {"error": "..."}; Okdesk {"errors": "..."} or {"errors": {field: [..]}}.
function describeError(data) {
  if (!data || typeof data !== "object") return typeof data === "string" ? data : "";
  if (typeof data.error === "string") return data.error;
  if (typeof data.errors === "string") return data.errors;
  if (data.errors && typeof data.errors === "object") return flattenErrors(data.errors).join("; ");
  return "";
}

function flattenErrors(errors, prefix = "") {
  return Object.entries(errors).flatMap(([field, value]) => {
    const name = prefix ? `${prefix}.${field}` : field;
    if (Array.isArray(value)) return value.map((message) => `${name}: ${message}`);
    if (value && typeof value === "object") return flattenErrors(value, name);
    return [`${name}: ${value}`];
  });
}

/** The file's bytes as base64, the way both emulators take files in JSON. */
export function fileToBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error ?? new Error("Не удалось прочитать файл"));
    reader.readAsDataURL(file);
  });
}
