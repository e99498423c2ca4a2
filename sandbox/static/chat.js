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
const MOSCOW = "Europe/Moscow";
const DEFAULT_PLACEHOLDER = "Сообщение / Message";
const TAB_ID = Math.random().toString(36).slice(2);
const state = {
  chat: null, kind: "user", revision: 0, messages: new Map(), answersSeen: new Set(), pollId: 0, topics: {},
  users: [], language: "ru", botUsername: "", clockOffset: 0, stick: true, newestShown: 0, unseen: 0,
};

function escapeHtml(text) { return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])); }
function chatPath() { return state.kind === "user" ? `/users/${state.chat}` : `/groups/${state.chat}`; }
function locale() { return state.language === "en" ? "en-GB" : "ru-RU"; }
function sandboxNow() { return new Date(Date.now() + state.clockOffset); }

// --- toasts and the modal (callback answers; never the browser's alert()) ---------------------
function toast(text) {
  const t = $("toast"); t.textContent = text; t.hidden = false;
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.hidden = true; }, 2500);
}
// A modal: a callback answer's alert, or a question with a value to confirm (the phone to share).
let modalDone = null;
function modal(text, { value = null, ok = "OK" } = {}) {
  if (modalDone) modalDone(null);
  $("modal-text").textContent = text;
  $("modal-input").hidden = value === null;
  $("modal-input").value = value ?? "";
  $("modal-cancel").hidden = value === null;
  $("modal-ok").textContent = ok;
  $("modal").hidden = false;
  (value === null ? $("modal-ok") : $("modal-input")).focus();
  return new Promise((resolve) => { modalDone = (answer) => { modalDone = null; $("modal").hidden = true; resolve(answer); }; });
}
$("modal-form").onsubmit = (event) => { event.preventDefault(); if (modalDone) modalDone($("modal-input").hidden ? true : $("modal-input").value.trim()); };
$("modal-cancel").onclick = () => { if (modalDone) modalDone(null); };

// --- the side panel (a menu on a phone) ------------------------------------------------------
function menu(open) { document.body.classList.toggle("menu-open", open); $("backdrop").hidden = !open; }
$("menu-btn").onclick = () => menu(!document.body.classList.contains("menu-open"));
$("backdrop").onclick = () => menu(false);

async function loadSidebar() {
  const [{ users }, { groups }] = await Promise.all([api("/users"), api("/groups")]);
  state.users = users;
  $("users").innerHTML = users.map((u) => `<li data-id="${u.id}" class="${state.kind === "user" && state.chat === u.id ? "active" : ""}">${escapeHtml(u.first_name)} <small>${u.id}${u.blocked_bot ? " ⛔" : ""}</small></li>`).join("");
  $("groups").innerHTML = groups.map((g) => `<li data-id="${g.id}" class="${state.kind === "group" && state.chat === g.id ? "active" : ""}">${escapeHtml(g.title)}</li>`).join("");
  document.querySelectorAll("#users li").forEach((li) => li.onclick = () => { menu(false); openChat("user", Number(li.dataset.id), li.textContent); });
  document.querySelectorAll("#groups li").forEach((li) => li.onclick = () => { menu(false); openChat("group", Number(li.dataset.id), li.textContent); });
  const me = users.find((u) => state.kind === "user" && u.id === state.chat);
  if (me && me.language_code) state.language = me.language_code === "en" ? "en" : "ru";
  return { users, groups };
}

function openChat(kind, id, title) {
  Object.assign(state, { chat: id, kind, revision: 0, messages: new Map(), stick: true, newestShown: 0, unseen: 0, lastData: null });
  state.pollId += 1;
  localStorage.setItem("sandbox-chat", JSON.stringify({ kind, id }));
  $("chat-title").textContent = title;
  $("messages").innerHTML = "";
  $("new-badge").hidden = true;
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

// --- scrolling: new messages come into view unless the person scrolled up on purpose ---------
const box = $("messages");
function distanceFromBottom() { return box.scrollHeight - box.scrollTop - box.clientHeight; }
function scrollToBottom() { box.scrollTop = box.scrollHeight; state.unseen = 0; $("new-badge").hidden = true; }
box.addEventListener("scroll", () => {
  state.stick = distanceFromBottom() < 40;
  if (state.stick) { state.unseen = 0; $("new-badge").hidden = true; }
});
// The box shrinks when a reply keyboard appears, the window turns or an image loads: keep the end in view.
const keepEnd = new ResizeObserver(() => { if (state.stick) scrollToBottom(); });
keepEnd.observe(box);
// The newest messages grow too after they are drawn (an image or a font arrives).
const newestGrow = new ResizeObserver(() => { if (state.stick) scrollToBottom(); });
box.addEventListener("load", () => { if (state.stick) scrollToBottom(); }, true);
$("new-badge").onclick = () => { state.stick = true; scrollToBottom(); };

function render(data) {
  state.lastData = data;
  if (data.chat && data.chat.topics) state.topics = data.chat.topics;
  const stick = state.stick;
  const sorted = [...state.messages.values()].filter((m) => !m.deleted).sort((a, b) => a.message_id - b.message_id);
  const parts = [];
  let day = null;
  for (const m of sorted) {
    const key = dayKey(m.date);
    if (key !== day) { day = key; parts.push(`<div class="day">${escapeHtml(dayLabel(m.date))}</div>`); }
    parts.push(renderMessage(m));
  }
  box.innerHTML = parts.join("");
  box.querySelectorAll(".msg .text").forEach(linkify);
  newestGrow.disconnect();
  [...box.querySelectorAll(".msg")].slice(-5).forEach((element) => newestGrow.observe(element));
  box.querySelectorAll("button[data-callback]").forEach((b) => b.onclick = () => tap(Number(b.dataset.message), b.dataset.callback));
  box.querySelectorAll("button[data-url]").forEach((b) => b.onclick = () => openUrl(b.dataset.url));
  renderReplyKeyboard(data.reply_keyboard);
  if (data.chat) $("chat-title").textContent = data.chat.title || data.chat.first_name || state.chat;
  if (data.chat && data.chat.topics) {
    const select = $("thread"); const current = select.value;
    select.innerHTML = '<option value="">—</option>' + Object.entries(data.chat.topics).map(([id, name]) => `<option value="${id}">${escapeHtml(name)}</option>`).join("");
    select.value = current;
  }
  // Scroll only now, after the messages and the keyboard took their place.
  const newest = sorted.length ? sorted[sorted.length - 1].message_id : 0;
  const arrived = sorted.filter((m) => m.message_id > state.newestShown).length;
  state.newestShown = Math.max(state.newestShown, newest);
  if (stick) scrollToBottom();
  else if (arrived) {
    state.unseen += arrived;
    $("new-badge").textContent = `${state.unseen} · новые сообщения ↓ / new messages ↓`;
    $("new-badge").hidden = false;
  }
  for (const answer of data.callback_answers || []) {
    if (state.answersSeen.has(answer.callback_query_id)) continue;
    state.answersSeen.add(answer.callback_query_id);
    if (answer.text && Date.now() / 1000 - answer.at < 30) (answer.show_alert ? modal : toast)(answer.text);
  }
}

// --- times: the sandbox's clock (it moves with time travel), shown in Moscow time --------------
function dayKey(seconds) { return new Date((seconds || 0) * 1000).toLocaleDateString("en-CA", { timeZone: MOSCOW }); }
function dayLabel(seconds) {
  const date = new Date((seconds || 0) * 1000);
  const key = dayKey(seconds);
  const now = sandboxNow();
  if (key === now.toLocaleDateString("en-CA", { timeZone: MOSCOW })) return state.language === "en" ? "Today" : "Сегодня";
  const options = { day: "numeric", month: "long", timeZone: MOSCOW };
  if (key.slice(0, 4) !== now.toLocaleDateString("en-CA", { timeZone: MOSCOW }).slice(0, 4)) options.year = "numeric";
  return date.toLocaleDateString(locale(), options);
}
function timeLabel(seconds) { return new Date((seconds || 0) * 1000).toLocaleTimeString("ru-RU", { hour: "2-digit", minute: "2-digit", timeZone: MOSCOW }); }

function mapCard(location, venue) {
  const lat = Number(location.latitude), lon = Number(location.longitude);
  const osm = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`;
  const yandex = `https://yandex.ru/maps/?pt=${lon},${lat}&z=16&l=map`;
  const shift = `--shift-x:${Math.round((lon * 977) % 52)}px;--shift-y:${Math.round((lat * 631) % 40)}px`;
  const where = venue ? `<div class="where">📍 <b>${escapeHtml(venue.title)}</b><br>${escapeHtml(venue.address)}</div>` : "";
  return `<div class="place"><div class="map" style="${shift}" role="img" aria-label="${lat.toFixed(5)}, ${lon.toFixed(5)}">`
    + `<span class="pin">📍</span><span class="coords">${lat.toFixed(5)}, ${lon.toFixed(5)}</span></div>${where}`
    + `<div class="maps"><a href="${osm}" target="_blank" rel="noopener">🗺 OpenStreetMap</a> · <a href="${escapeHtml(yandex)}" target="_blank" rel="noopener">Яндекс Карты</a></div></div>`;
}

const OPERATOR_NAMES = { "9001": "Мария", "9002": "Игорь" };

// A forum topic's service message, worded as Telegram's clients do: in the viewer's language.
function serviceText(m) {
  const en = state.language === "en";
  if (m.forum_topic_edited) {
    const name = escapeHtml(m.forum_topic_edited.name || "");
    return en ? `The topic is renamed to «${name}»` : `Тема переименована в «${name}»`;
  }
  if (m.forum_topic_closed) return en ? "🔒 The topic is closed" : "🔒 Тема закрыта";
  if (m.forum_topic_reopened) return en ? "🔓 The topic is reopened" : "🔓 Тема снова открыта";
  return null;
}

function renderMessage(m) {
  const parts = [];
  if (state.kind === "group" && m.sender) parts.push(`<div class="sender">${escapeHtml(m.sender.first_name)}</div>`);
  if (m.message_thread_id) parts.push(`<div class="thread"># ${escapeHtml(state.topics[m.message_thread_id] || m.message_thread_id)}</div>`);
  if (m.venue) parts.push(mapCard(m.venue.location, m.venue));
  else if (m.location) parts.push(mapCard(m.location, null));
  if (m.photo) parts.push(`<a href="${m.photo.url}" target="_blank"><img src="${m.photo.url}" alt="photo"></a>`);
  if (m.document) parts.push(`<div class="doc">📄 <a href="${m.document.url}" download>${escapeHtml(m.document.file_name)}</a> <small>${Math.ceil(m.document.file_size / 1024)} KB</small></div>`);
  if (m.contact) parts.push(`<div class="contact">📱 ${escapeHtml(m.contact.first_name)}: ${escapeHtml(m.contact.phone_number)}</div>`);
  if (m.sticker) parts.push(`<div style="font-size:40px">${escapeHtml(m.sticker.emoji)}</div>`);
  const service = serviceText(m);
  if (service) parts.push(`<div class="text service"><i>${service}</i></div>`);
  else if (m.html) parts.push(`<div class="text">${m.html}</div>`); else if (m.text && !m.forum_topic_created) parts.push(`<div class="text">${escapeHtml(m.text)}</div>`);
  const rows = (m.reply_markup && m.reply_markup.inline_keyboard) || [];
  if (rows.length) {
    parts.push('<div class="inline-kb">' + rows.map((row) => '<div class="row">' + row.map((b) => b.url
      ? `<button data-url="${escapeHtml(b.url)}">${escapeHtml(b.text)} ↗</button>`
      : `<button data-message="${m.message_id}" data-callback="${escapeHtml(b.callback_data || "")}">${escapeHtml(b.text)}</button>`).join("") + "</div>").join("") + "</div>");
  }
  const edited = m.edited ? (state.language === "en" ? "edited · " : "изменено · ") : "";
  parts.push(`<div class="meta">${edited}<time datetime="${new Date((m.date || 0) * 1000).toISOString()}">${timeLabel(m.date)}</time></div>`);
  return `<div class="msg ${m.from}" data-id="${m.message_id}">${parts.join("")}</div>`;
}

// Bare web addresses in a text become links, as Telegram clients show them.
function linkify(element) {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) if (!walker.currentNode.parentElement.closest("a") && /https?:\/\//.test(walker.currentNode.nodeValue)) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const span = document.createElement("span");
    span.innerHTML = escapeHtml(node.nodeValue).replace(/https?:\/\/[^\s<]+[^\s<.,;:!?)»"'&]/g, (url) => `<a href="${url}" target="_blank" rel="noopener">${url}</a>`);
    node.replaceWith(...span.childNodes);
  }
}

// --- deep links: https://t.me/<this bot>?start=PAYLOAD sends "/start PAYLOAD" here ------------
function deepLinkPayload(href) {
  let url;
  try { url = new URL(href, location.href); } catch { return null; }
  let name = null;
  if (["t.me", "telegram.me", "www.t.me"].includes(url.hostname)) name = url.pathname.replace(/^\/|\/$/g, "");
  else if (url.protocol === "tg:" && (url.hostname === "resolve" || url.pathname.startsWith("//resolve"))) name = url.searchParams.get("domain");
  if (!name || !state.botUsername || name.toLowerCase() !== state.botUsername.toLowerCase()) return null;
  return url.searchParams.get("start") || "";
}
function startWith(payload) {
  if (state.kind !== "user" || !state.chat) { toast("Сначала выберите пользователя / Pick a user first"); return false; }
  send({ text: payload ? `/start ${payload}` : "/start" });
  return true;
}
function openUrl(href) {
  const payload = deepLinkPayload(href);
  if (payload !== null) startWith(payload);
  else window.open(href, "_blank", "noopener");
}
box.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link) return;
  const payload = deepLinkPayload(link.href);
  if (payload === null) return;
  event.preventDefault();
  startWith(payload);
});
// The mailbox (another tab) hands its deep links to the web chat tab used last.
const deepLinks = "BroadcastChannel" in window ? new BroadcastChannel("sandbox-deep-links") : null;
function claimDeepLinks() { localStorage.setItem("sandbox-deep-link-tab", TAB_ID); }
window.addEventListener("focus", claimDeepLinks);
document.addEventListener("visibilitychange", () => { if (!document.hidden) claimDeepLinks(); });
claimDeepLinks();
if (deepLinks) deepLinks.onmessage = (event) => {
  const { payload, id } = event.data || {};
  if (typeof payload !== "string" || localStorage.getItem("sandbox-deep-link-tab") !== TAB_ID) return;
  if (startWith(payload)) deepLinks.postMessage({ done: id });
};

function renderReplyKeyboard(markup) {
  const keyboard = $("reply-keyboard");
  $("text").placeholder = (markup && markup.input_field_placeholder) || DEFAULT_PLACEHOLDER;
  if (!markup || state.kind !== "user") { keyboard.innerHTML = ""; return; }
  keyboard.innerHTML = markup.keyboard.map((row, r) => '<div class="row">' + row.map((b, c) => `<button data-r="${r}" data-c="${c}">${escapeHtml(typeof b === "string" ? b : b.text)}</button>`).join("") + "</div>").join("");
  keyboard.querySelectorAll("button").forEach((button) => button.onclick = (event) => {
    const key = markup.keyboard[button.dataset.r][button.dataset.c];
    if (key.request_location) { event.stopPropagation(); return showLocations(); }
    if (key.request_contact) return shareContact();
    send({ text: typeof key === "string" ? key : key.text });
  });
}

function sender() {
  // An operator is a Telegram user with a first name, as the desk's notices show it to the
  // person ("Оператор Мария"); the id tells operators apart in the web chat.
  if (state.kind === "group") {
    const id = $("operator-id").value;
    return { from: { id: Number(id), first_name: OPERATOR_NAMES[id] || "Мария", last_name: `#${id}` } };
  }
  return {};
}

async function send(body) {
  if (!state.chat) return toast("Сначала выберите чат / Pick a chat first");
  const thread = $("thread").value;
  if (state.kind === "group" && thread) body.message_thread_id = Number(thread);
  state.stick = true; // what the person sends, and the answer, come into view
  try { await postJson(`${chatPath()}/messages`, { ...body, ...sender() }); } catch (error) { toast(error.message); }
}

async function tap(messageId, data) {
  try { await postJson(`${chatPath()}/callbacks`, { message_id: messageId, data, ...sender() }); } catch (error) { toast(error.message); }
}

function showLocations() {
  const popup = $("popup");
  popup.innerHTML = PLACES.map(([name], i) => `<button data-i="${i}">📍 ${escapeHtml(name)}</button>`).join("")
    + '<form id="coords"><input name="lat" placeholder="55.75" required><input name="lon" placeholder="37.62" required><button>OK</button></form>';
  popup.hidden = false;
  popup.querySelectorAll("button[data-i]").forEach((b) => b.onclick = () => { const [, lat, lon] = PLACES[b.dataset.i]; popup.hidden = true; send({ location: { latitude: lat, longitude: lon } }); });
  $("coords").onsubmit = (event) => { event.preventDefault(); const f = new FormData(event.target); popup.hidden = true; send({ location: { latitude: Number(f.get("lat")), longitude: Number(f.get("lon")) } }); };
}

async function shareContact() {
  const phone = await modal("Поделиться номером телефона с ботом? / Share your phone number with the bot?", { value: "+7 999 123-45-67", ok: "Поделиться / Share" });
  if (phone) send({ contact: { phone_number: phone } });
}

async function showCommands() {
  const { commands } = await api(`/commands?language_code=${state.language}`);
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
// The buttons that open the popup keep their click from the page-wide handler that closes it.
$("location-btn").onclick = (event) => { event.stopPropagation(); showLocations(); };
$("contact-btn").onclick = shareContact;
$("commands-btn").onclick = (event) => { event.stopPropagation(); showCommands(); };
$("file").onchange = async (event) => {
  const file = event.target.files[0];
  if (!file || !state.chat) return;
  const form = new FormData();
  form.append(file.type.startsWith("image/") ? "photo" : "document", file, file.name);
  const extra = sender();
  if (extra.from) form.append("from", JSON.stringify(extra.from));
  if (state.kind === "group" && $("thread").value) form.append("message_thread_id", $("thread").value);
  state.stick = true;
  await fetch(`/sandbox/api${chatPath()}/messages`, { method: "POST", body: form });
  event.target.value = "";
};
document.addEventListener("click", (event) => { const popup = $("popup"); if (!popup.hidden && !popup.contains(event.target)) popup.hidden = true; });
document.addEventListener("keydown", (event) => { if (event.key === "Escape") { $("popup").hidden = true; if (modalDone) modalDone(null); menu(false); } });
$("new-user").onsubmit = async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const user = await postJson("/users", { first_name: form.get("first_name"), language_code: form.get("language_code") });
  event.target.reset();
  menu(false);
  openChat("user", user.id, user.first_name);
  state.language = user.language_code === "en" ? "en" : "ru";
  send({ text: "/start", from: { first_name: user.first_name, language_code: form.get("language_code") } });
};

(async () => {
  const health = await api("/health").catch(() => ({}));
  state.botUsername = health.bot_username || "";
  const { users } = await loadSidebar();
  // A link may name the chat: /#user/123 or /#group/-1001000000001; ?start=PAYLOAD sends /start PAYLOAD.
  const [, kind, id] = location.hash.match(/^#(user|group)\/(-?\d+)$/) || [];
  const saved = kind ? { kind, id: Number(id) } : JSON.parse(localStorage.getItem("sandbox-chat") || "null");
  if (saved) openChat(saved.kind, saved.id, "…");
  else if (users.length) openChat("user", users[0].id, users[0].first_name);
  const start = new URLSearchParams(location.search).get("start");
  if (start !== null) {
    history.replaceState(null, "", location.pathname + location.hash);
    if (state.kind === "user" && state.chat) startWith(start);
    else toast("Сначала выберите пользователя / Pick a user first");
  }
})();

// Time travel: the bot's clock moves forward and its scheduled work runs at once. The panel ticks.
function paintClock() {
  $("clock-now").textContent = sandboxNow().toLocaleString("ru-RU", { timeZone: MOSCOW, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
async function showClock(answer) {
  const data = answer || await api("/clock").catch(() => null);
  $("clock-panel").hidden = !data;
  if (!data) return;
  state.clockOffset = Date.parse(data.now) - Date.now();
  paintClock();
  if (state.lastData) render({ ...state.lastData, callback_answers: [] }); // "Today" moved
}
document.querySelectorAll("#clock-panel button").forEach((button) => {
  button.onclick = async () => {
    button.disabled = true;
    state.stick = true; // the notifications time travel brings come into view
    try { await showClock(await postJson("/clock", { advance: button.dataset.step })); }
    catch (error) { modal(error.message); }
    finally { button.disabled = false; }
  };
});
setInterval(paintClock, 1000);
showClock();
