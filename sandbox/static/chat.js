"use strict";
// The sandbox web chat: talks only to the sandbox's user API (documented in the README).
const $ = (id) => document.getElementById(id);
const api = (path, options = {}) => fetch("/sandbox/api" + path, options).then(async (r) => {
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
});
const postJson = (path, body) => api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const PLACES = [
  ["Москва, Красная площадь", 55.7539, 37.6208], ["Санкт-Петербург, Невский пр.", 59.9343, 30.3351],
  ["Казань, Кремль", 55.7989, 49.1059], ["Новосибирск, пл. Ленина", 55.0302, 82.9204],
  ["Екатеринбург, Плотинка", 56.8380, 60.6057], ["Краснодар, ул. Красная", 45.0355, 38.9753],
  ["Анадырь (далеко от клиник)", 64.7337, 177.5089],
];
const state = { chat: null, kind: "user", revision: 0, messages: new Map(), answersSeen: new Set(), pollId: 0, topics: {} };

function escapeHtml(text) { return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])); }
function chatPath() { return state.kind === "user" ? `/users/${state.chat}` : `/groups/${state.chat}`; }
function toast(text, alert) { if (alert) { window.alert(text); return; } const t = $("toast"); t.textContent = text; t.hidden = false; clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.hidden = true; }, 2500); }

async function loadSidebar() {
  const [{ users }, { groups }] = await Promise.all([api("/users"), api("/groups")]);
  $("users").innerHTML = users.map((u) => `<li data-id="${u.id}" class="${state.kind === "user" && state.chat === u.id ? "active" : ""}">${escapeHtml(u.first_name)} <small>${u.id}${u.blocked_bot ? " ⛔" : ""}</small></li>`).join("");
  $("groups").innerHTML = groups.map((g) => `<li data-id="${g.id}" class="${state.kind === "group" && state.chat === g.id ? "active" : ""}">${escapeHtml(g.title)}</li>`).join("");
  document.querySelectorAll("#users li").forEach((li) => li.onclick = () => openChat("user", Number(li.dataset.id), li.textContent));
  document.querySelectorAll("#groups li").forEach((li) => li.onclick = () => openChat("group", Number(li.dataset.id), li.textContent));
  return { users, groups };
}

function openChat(kind, id, title) {
  Object.assign(state, { chat: id, kind, revision: 0, messages: new Map() });
  state.pollId += 1;
  localStorage.setItem("sandbox-chat", JSON.stringify({ kind, id }));
  $("chat-title").textContent = title;
  $("messages").innerHTML = "";
  $("group-bar").hidden = kind !== "group";
  loadSidebar();
  poll(state.pollId);
}

async function poll(pollId) {
  while (pollId === state.pollId) {
    try {
      const data = await api(`${chatPath()}/messages?changed_since=${state.revision}&wait=25`);
      if (pollId !== state.pollId) return;
      state.revision = data.revision;
      data.messages.forEach((m) => state.messages.set(m.message_id, m));
      render(data);
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

function render(data) {
  if (data.chat && data.chat.topics) state.topics = data.chat.topics;
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const sorted = [...state.messages.values()].filter((m) => !m.deleted).sort((a, b) => a.message_id - b.message_id);
  box.innerHTML = sorted.map(renderMessage).join("");
  box.querySelectorAll("button[data-callback]").forEach((b) => b.onclick = () => tap(Number(b.dataset.message), b.dataset.callback));
  box.querySelectorAll("button[data-url]").forEach((b) => b.onclick = () => window.open(b.dataset.url, "_blank", "noopener"));
  if (atBottom) box.scrollTop = box.scrollHeight;
  renderReplyKeyboard(data.reply_keyboard);
  if (data.chat) $("chat-title").textContent = data.chat.title || data.chat.first_name || state.chat;
  if (data.chat && data.chat.topics) {
    const select = $("thread"); const current = select.value;
    select.innerHTML = '<option value="">—</option>' + Object.entries(data.chat.topics).map(([id, name]) => `<option value="${id}">${escapeHtml(name)}</option>`).join("");
    select.value = current;
  }
  for (const answer of data.callback_answers || []) {
    if (state.answersSeen.has(answer.callback_query_id)) continue;
    state.answersSeen.add(answer.callback_query_id);
    if (answer.text && Date.now() / 1000 - answer.at < 30) toast(answer.text, answer.show_alert);
  }
}

function renderMessage(m) {
  const parts = [];
  if (state.kind === "group" && m.sender) parts.push(`<div class="sender">${escapeHtml(m.sender.first_name)}</div>`);
  if (m.message_thread_id) parts.push(`<div class="thread"># ${escapeHtml(state.topics[m.message_thread_id] || m.message_thread_id)}</div>`);
  if (m.photo) parts.push(`<a href="${m.photo.url}" target="_blank"><img src="${m.photo.url}" alt="photo"></a>`);
  if (m.document) parts.push(`<div class="doc">📄 <a href="${m.document.url}" download>${escapeHtml(m.document.file_name)}</a> <small>${Math.ceil(m.document.file_size / 1024)} KB</small></div>`);
  if (m.venue) parts.push(`<div class="venue">📍 <b>${escapeHtml(m.venue.title)}</b><br>${escapeHtml(m.venue.address)}<br><small>${m.venue.location.latitude}, ${m.venue.location.longitude}</small></div>`);
  else if (m.location) parts.push(`<div class="location">📍 ${m.location.latitude}, ${m.location.longitude}</div>`);
  if (m.contact) parts.push(`<div class="contact">📱 ${escapeHtml(m.contact.first_name)}: ${escapeHtml(m.contact.phone_number)}</div>`);
  if (m.sticker) parts.push(`<div style="font-size:40px">${escapeHtml(m.sticker.emoji)}</div>`);
  if (m.html) parts.push(`<div>${m.html}</div>`); else if (m.text && !m.forum_topic_created) parts.push(`<div>${escapeHtml(m.text)}</div>`);
  const rows = (m.reply_markup && m.reply_markup.inline_keyboard) || [];
  if (rows.length) {
    parts.push('<div class="inline-kb">' + rows.map((row) => '<div class="row">' + row.map((b) => b.url
      ? `<button data-url="${escapeHtml(b.url)}">${escapeHtml(b.text)} ↗</button>`
      : `<button data-message="${m.message_id}" data-callback="${escapeHtml(b.callback_data || "")}">${escapeHtml(b.text)}</button>`).join("") + "</div>").join("") + "</div>");
  }
  const time = new Date((m.date || 0) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  parts.push(`<div class="meta">${m.edited ? "изменено · " : ""}${time}</div>`);
  return `<div class="msg ${m.from}">${parts.join("")}</div>`;
}

function renderReplyKeyboard(markup) {
  const box = $("reply-keyboard");
  if (!markup || state.kind !== "user") { box.innerHTML = ""; return; }
  box.innerHTML = markup.keyboard.map((row, r) => '<div class="row">' + row.map((b, c) => `<button data-r="${r}" data-c="${c}">${escapeHtml(typeof b === "string" ? b : b.text)}</button>`).join("") + "</div>").join("");
  box.querySelectorAll("button").forEach((button) => button.onclick = () => {
    const key = markup.keyboard[button.dataset.r][button.dataset.c];
    if (key.request_location) return showLocations();
    if (key.request_contact) return shareContact();
    send({ text: typeof key === "string" ? key : key.text });
  });
}

function sender() {
  if (state.kind === "group") return { from: { id: Number($("operator-id").value), first_name: "Оператор " + $("operator-id").value } };
  return {};
}

async function send(body) {
  if (!state.chat) return toast("Сначала выберите чат / Pick a chat first");
  const thread = $("thread").value;
  if (state.kind === "group" && thread) body.message_thread_id = Number(thread);
  try { await postJson(`${chatPath()}/messages`, { ...body, ...sender() }); } catch (error) { toast(error.message); }
}

async function tap(messageId, data) {
  try { await postJson(`${chatPath()}/callbacks`, { message_id: messageId, data, ...sender() }); } catch (error) { toast(error.message); }
}

function showLocations() {
  const popup = $("popup");
  popup.innerHTML = PLACES.map(([name, lat, lon], i) => `<button data-i="${i}">📍 ${escapeHtml(name)}</button>`).join("")
    + '<form id="coords"><input name="lat" placeholder="55.75" required><input name="lon" placeholder="37.62" required><button>OK</button></form>';
  popup.hidden = false;
  popup.querySelectorAll("button[data-i]").forEach((b) => b.onclick = () => { const [, lat, lon] = PLACES[b.dataset.i]; popup.hidden = true; send({ location: { latitude: lat, longitude: lon } }); });
  $("coords").onsubmit = (event) => { event.preventDefault(); const f = new FormData(event.target); popup.hidden = true; send({ location: { latitude: Number(f.get("lat")), longitude: Number(f.get("lon")) } }); };
}

function shareContact() {
  const phone = window.prompt("Ваш номер / Your phone", "+7 999 123-45-67");
  if (phone) send({ contact: { phone_number: phone } });
}

async function showCommands() {
  const language = (localStorage.getItem("sandbox-language") || "ru");
  const { commands } = await api(`/commands?language_code=${language}`);
  const popup = $("popup");
  popup.innerHTML = commands.map((c) => `<button data-c="/${c.command}">/${c.command} — ${escapeHtml(c.description)}</button>`).join("") || "—";
  popup.hidden = false;
  popup.querySelectorAll("button").forEach((b) => b.onclick = () => { popup.hidden = true; send({ text: b.dataset.c }); });
}

$("composer").onsubmit = (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  send({ text });
};
$("location-btn").onclick = showLocations;
$("contact-btn").onclick = shareContact;
$("commands-btn").onclick = showCommands;
$("file").onchange = async (event) => {
  const file = event.target.files[0];
  if (!file || !state.chat) return;
  const form = new FormData();
  form.append(file.type.startsWith("image/") ? "photo" : "document", file, file.name);
  const extra = sender();
  if (extra.from) form.append("from", JSON.stringify(extra.from));
  if (state.kind === "group" && $("thread").value) form.append("message_thread_id", $("thread").value);
  await fetch(`/sandbox/api${chatPath()}/messages`, { method: "POST", body: form });
  event.target.value = "";
};
document.addEventListener("click", (event) => { const popup = $("popup"); if (!popup.hidden && !popup.contains(event.target) && !["location-btn", "commands-btn"].includes(event.target.id)) popup.hidden = true; });
$("new-user").onsubmit = async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const user = await postJson("/users", { first_name: form.get("first_name"), language_code: form.get("language_code") });
  localStorage.setItem("sandbox-language", form.get("language_code"));
  event.target.reset();
  await loadSidebar();
  openChat("user", user.id, user.first_name);
  send({ text: "/start", from: { first_name: user.first_name, language_code: form.get("language_code") } });
};

(async () => {
  const { users } = await loadSidebar();
  // A link may name the chat: /#user/123 or /#group/-1001000000001
  const [, kind, id] = location.hash.match(/^#(user|group)\/(-?\d+)$/) || [];
  const saved = kind ? { kind, id: Number(id) } : JSON.parse(localStorage.getItem("sandbox-chat") || "null");
  if (saved) openChat(saved.kind, saved.id, "…");
  else if (users.length) openChat("user", users[0].id, users[0].first_name);
})();

// Time travel: the bot's clock moves forward and its scheduled work runs at once.
async function showClock(answer) {
  const data = answer || await api("/clock").catch(() => null);
  $("clock-panel").hidden = !data;
  if (data) $("clock-now").textContent = new Date(data.now).toLocaleString("ru-RU", { timeZone: "Europe/Moscow" }) + " МСК";
}
document.querySelectorAll("#clock-panel button").forEach((button) => {
  button.onclick = async () => {
    button.disabled = true;
    try { await showClock(await postJson("/clock", { advance: button.dataset.step })); }
    catch (error) { toast(error.message, true); }
    finally { button.disabled = false; }
  };
});
showClock();
