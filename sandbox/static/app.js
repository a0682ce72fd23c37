// Hemu sandbox page: a resident pane and an officer pane driving the local Bot API server's control API.
//
// Bot text is rendered the way a Telegram client does it: from the plain text plus the entities the server
// parsed out of parse_mode HTML. Nothing is ever assigned to innerHTML, so neither a resident's words nor a
// bot's markup can inject anything into this page.
"use strict";

// Every label on the page, in one place (a developer tool: both languages side by side).
const LABELS = {
  title: "和睦 Hemu · 沙盒 sandbox",
  resident: "居民 Resident",
  officer: "民警 Officer",
  language: "语言 Language",
  user_id: "用户 ID · User id",
  name: "名字 Name",
  officer_chat: "民警会话 Officer chat",
  custom_officer: "其他 ID · other id",
  register: "注册 Register",
  send: "发送 Send",
  media: "发送附件 Send:",
  photo: "照片 photo",
  location: "位置 location",
  voice: "语音 voice",
  sticker: "贴纸 sticker",
  document: "文件 document",
  edited: "已编辑 edited",
  connected: "已连接 connected",
  disconnected: "连接中断 disconnected",
  no_code: "该民警没有邀请码 · this officer has no invite code",
  need_user: "请先填写用户 ID · enter a user id first",
  no_chat: "还没有消息 · no messages yet",
  alert: "提示 alert",
};

const POLL_MS = 700;
const MEDIA_TAGS = {
  photo: "🖼 [photo]",
  voice: "🎤 [voice]",
  sticker: "[sticker]",
  location: "📍 [location]",
  document: "📄 [document]",
};

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// ---------------------------------------------------------------- rendering text + entities

const ENTITY_TAGS = {
  bold: "b",
  italic: "i",
  underline: "u",
  strikethrough: "s",
  code: "code",
  pre: "pre",
  blockquote: "blockquote",
  expandable_blockquote: "blockquote",
};

function entityNode(entity) {
  if (entity.type === "text_link") {
    let url = null;
    try {
      const parsed = new URL(entity.url);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") url = parsed.href;
    } catch (_) {
      url = null;
    }
    if (url) {
      const a = el("a");
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      return a;
    }
    const span = el("span", "link");
    span.title = String(entity.url);
    return span;
  }
  if (entity.type === "spoiler") {
    const span = el("span", "spoiler");
    span.addEventListener("click", () => span.classList.toggle("shown"));
    return span;
  }
  const tag = ENTITY_TAGS[entity.type];
  return tag ? el(tag) : el("span", `entity-${String(entity.type).replace(/[^a-z_]/g, "")}`);
}

// Offsets are UTF-16 code units, which is exactly how JavaScript strings are indexed.
function renderRange(text, start, end, entities, parent) {
  let pos = start;
  let i = 0;
  while (i < entities.length) {
    const entity = entities[i];
    const eStart = Math.max(entity.offset, pos);
    const eEnd = Math.min(entity.offset + entity.length, end);
    if (eStart >= eEnd) {
      i += 1;
      continue;
    }
    if (eStart > pos) parent.appendChild(document.createTextNode(text.slice(pos, eStart)));
    const node = entityNode(entity);
    // Entities starting inside this one are its children.
    const inner = [];
    let j = i + 1;
    while (j < entities.length && entities[j].offset < eEnd) {
      inner.push(entities[j]);
      j += 1;
    }
    renderRange(text, eStart, eEnd, inner, node);
    parent.appendChild(node);
    pos = eEnd;
    i = j;
  }
  if (pos < end) parent.appendChild(document.createTextNode(text.slice(pos, end)));
}

function renderText(text, entities, parent) {
  const sorted = (entities || [])
    .filter((e) => Number.isInteger(e.offset) && Number.isInteger(e.length))
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  renderRange(text, 0, text.length, sorted, parent);
}

// ---------------------------------------------------------------- a chat pane

class Pane {
  constructor(prefix) {
    this.history = $(`${prefix}-history`);
    this.notice = $(`${prefix}-notice`);
    this.keyboard = $(`${prefix}-keyboard`);
    this.text = $(`${prefix}-text`);
    this.userInput = $(`${prefix}-user`);
    this.language = $(`${prefix}-language`);
    this.lastSnapshot = null;
    $(`${prefix}-form`).addEventListener("submit", (event) => {
      event.preventDefault();
      const value = this.text.value;
      if (!value.trim()) return;
      this.send(value).then(() => {
        this.text.value = "";
      });
    });
  }

  userId() {
    const value = parseInt(this.userInput.value, 10);
    return Number.isFinite(value) && value > 0 ? value : null;
  }

  firstName() {
    return null;
  }

  say(message, isAlert) {
    this.notice.textContent = message || "";
    this.notice.classList.toggle("alert", Boolean(isAlert));
  }

  async send(text) {
    const userId = this.userId();
    if (userId === null) return this.say(LABELS.need_user, true);
    const body = { user_id: userId, text, language_code: this.language.value };
    const name = this.firstName();
    if (name) body.first_name = name;
    try {
      await api("POST", "/control/messages", body);
      this.say("");
    } catch (error) {
      this.say(String(error.message), true);
    }
    this.refresh();
  }

  async press(messageId, data) {
    const userId = this.userId();
    if (userId === null) return;
    try {
      await api("POST", "/control/press", { user_id: userId, message_id: messageId, data, chat_id: userId });
    } catch (error) {
      this.say(String(error.message), true);
    }
  }

  async media(kind) {
    const userId = this.userId();
    if (userId === null) return this.say(LABELS.need_user, true);
    const body = { user_id: userId, kind, language_code: this.language.value };
    try {
      await api("POST", "/control/media", body);
    } catch (error) {
      this.say(String(error.message), true);
    }
    this.refresh();
  }

  async refresh() {
    const userId = this.userId();
    if (userId === null) {
      this.render([]);
      return;
    }
    const messages = await api("GET", `/control/chats/${userId}/messages`);
    this.render(messages);
  }

  render(messages) {
    const snapshot = JSON.stringify(messages);
    if (snapshot === this.lastSnapshot) return;
    this.lastSnapshot = snapshot;
    const atBottom = this.history.scrollHeight - this.history.scrollTop - this.history.clientHeight < 40;
    this.history.replaceChildren();
    if (!messages.length) this.history.appendChild(el("div", "meta", LABELS.no_chat));
    let replyKeyboard = null;
    for (const message of messages) {
      this.history.appendChild(this.renderMessage(message));
      const markup = message.reply_markup;
      if (message.from_bot && markup) {
        if (markup.keyboard) replyKeyboard = markup.keyboard;
        else if (markup.remove_keyboard) replyKeyboard = null;
      }
    }
    this.renderReplyKeyboard(replyKeyboard);
    if (atBottom) this.history.scrollTop = this.history.scrollHeight;
  }

  renderMessage(message) {
    const box = el("div", `msg ${message.from_bot ? "bot" : "user"}`);
    box.dataset.messageId = String(message.message_id);
    if (message.kind === "photo" && message.from_bot && message.photo) {
      // A photo the bot sent: the sandbox kept its bytes (a resident's simulated photo has none).
      const img = el("img", "photo");
      img.src = `/control/photos/${encodeURIComponent(message.photo)}`;
      img.alt = MEDIA_TAGS.photo;
      box.appendChild(img);
      const caption = el("span", "text caption");
      renderText(String(message.text || ""), message.entities, caption);
      box.appendChild(caption);
    } else if (message.kind && message.kind !== "text") {
      box.appendChild(el("span", "media-tag", MEDIA_TAGS[message.kind] || `[${message.kind}]`));
      if (message.text) box.appendChild(document.createTextNode(` ${message.text}`));
    } else {
      const body = el("span", "text");
      renderText(String(message.text || ""), message.entities, body);
      box.appendChild(body);
    }
    const when = new Date(message.date * 1000).toLocaleTimeString();
    box.appendChild(el("span", "meta", message.edited ? `${LABELS.edited} · ${when}` : when));
    const markup = message.reply_markup;
    if (message.from_bot && markup && Array.isArray(markup.inline_keyboard)) {
      const buttons = el("div", "buttons");
      for (const row of markup.inline_keyboard) {
        const line = el("div", "row");
        for (const button of row) line.appendChild(this.inlineButton(message, button));
        buttons.appendChild(line);
      }
      box.appendChild(buttons);
    }
    return box;
  }

  inlineButton(message, button) {
    if (typeof button.callback_data === "string") {
      const node = el("button", "cb", button.text);
      node.type = "button";
      node.dataset.data = button.callback_data;
      node.addEventListener("click", () => this.press(message.message_id, button.callback_data));
      return node;
    }
    if (typeof button.url === "string" && /^https?:\/\//.test(button.url)) {
      const link = el("a", "url", button.text);
      link.href = button.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      return link;
    }
    const other = el("button", "other", button.text);
    other.type = "button";
    other.disabled = true;
    return other;
  }

  renderReplyKeyboard(rows) {
    this.keyboard.replaceChildren();
    if (!rows) return;
    for (const row of rows) {
      const line = el("div", "row");
      for (const button of row) {
        const label = typeof button === "string" ? button : button.text;
        const node = el("button", "reply", label);
        node.type = "button";
        node.addEventListener("click", () => this.send(label));
        line.appendChild(node);
      }
      this.keyboard.appendChild(line);
    }
  }

  showAnswer(answer) {
    if (!answer.text) return;
    if (answer.show_alert) this.say(`${LABELS.alert}: ${answer.text}`, true);
    else this.say(answer.text, false);
  }
}

class OfficerPane extends Pane {
  constructor() {
    super("officer");
    this.select = $("officer-select");
    this.officers = [];
    this.select.addEventListener("change", () => this.choose());
    $("officer-register").addEventListener("click", () => this.register());
    this.userInput.addEventListener("change", () => {
      this.select.value = "";
      this.lastSnapshot = null;
    });
  }

  selected() {
    const index = this.select.value;
    if (index === "" || index.startsWith("chat:")) return null;
    return this.officers[Number(index)] || null;
  }

  firstName() {
    const officer = this.selected();
    return officer ? officer.name : null;
  }

  choose() {
    const officer = this.selected();
    if (officer) this.userInput.value = String(officer.user_id);
    else if (this.select.value.startsWith("chat:")) this.userInput.value = this.select.value.slice(5);
    this.lastSnapshot = null;
    this.refresh();
  }

  setOfficers(officers) {
    this.officers = officers;
    this.rebuild();
    if (officers.length && !this.userInput.value) {
      this.select.value = "0";
      this.choose();
    }
  }

  // Options: the --officers list, then every other chat the server knows (an officer who registered from
  // an id typed by hand), so the pane can switch between all officer chats.
  rebuild() {
    const current = this.select.value;
    this.select.replaceChildren();
    const custom = el("option", null, LABELS.custom_officer);
    custom.value = "";
    this.select.appendChild(custom);
    this.officers.forEach((officer, index) => {
      const label = `${officer.name || officer.officer_id} (${officer.officer_id}) · ${officer.user_id}`;
      const option = el("option", null, label);
      option.value = String(index);
      this.select.appendChild(option);
    });
    for (const chat of this.otherChats || []) {
      const option = el("option", null, `${chat.user.first_name} · ${chat.chat_id}`);
      option.value = `chat:${chat.chat_id}`;
      this.select.appendChild(option);
    }
    this.select.value = current;
  }

  mergeChats(chats, residentId) {
    const known = new Set(this.officers.map((officer) => officer.user_id));
    const others = chats.filter((chat) => chat.chat_id !== residentId && !known.has(chat.chat_id));
    const signature = JSON.stringify(others.map((chat) => [chat.chat_id, chat.user.first_name]));
    if (signature === this.otherSignature) return;
    this.otherSignature = signature;
    this.otherChats = others;
    this.rebuild();
  }

  register() {
    const officer = this.selected();
    if (!officer || !officer.code) return this.say(LABELS.no_code, true);
    this.send(`/register ${officer.code}`);
  }
}

// ---------------------------------------------------------------- wiring

const resident = new Pane("resident");
const officer = new OfficerPane();
let answersSeen = 0;
let tick = 0;

function applyLabels() {
  for (const node of document.querySelectorAll("[data-label]")) {
    const text = LABELS[node.dataset.label];
    if (text) node.textContent = text;
  }
  resident.text.placeholder = `${LABELS.resident}…`;
  officer.text.placeholder = `${LABELS.officer}…`;
}

function remember() {
  const saved = JSON.parse(localStorage.getItem("hemu-sandbox") || "{}");
  if (saved.residentUser) resident.userInput.value = saved.residentUser;
  if (saved.residentLanguage) resident.language.value = saved.residentLanguage;
  if (saved.residentName) $("resident-name").value = saved.residentName;
  const store = () =>
    localStorage.setItem(
      "hemu-sandbox",
      JSON.stringify({
        residentUser: resident.userInput.value,
        residentLanguage: resident.language.value,
        residentName: $("resident-name").value,
      }),
    );
  for (const id of ["resident-user", "resident-language", "resident-name"]) $(id).addEventListener("change", store);
}

resident.firstName = () => $("resident-name").value.trim() || null;
resident.userInput.addEventListener("change", () => {
  resident.lastSnapshot = null;
});
for (const button of document.querySelectorAll("[data-media]")) {
  button.addEventListener("click", () => resident.media(button.dataset.media));
}

async function loadOfficers() {
  try {
    officer.setOfficers(await api("GET", "/control/officers"));
  } catch (error) {
    officer.say(String(error.message), true);
  }
}

async function poll() {
  const status = $("status");
  try {
    await Promise.all([resident.refresh(), officer.refresh()]);
    const answers = await api("GET", "/control/callback_answers");
    if (answers.length < answersSeen) answersSeen = 0; // the server was reset
    for (const answer of answers.slice(answersSeen)) {
      if (answer.chat_id === resident.userId()) resident.showAnswer(answer);
      else if (answer.chat_id === officer.userId()) officer.showAnswer(answer);
    }
    answersSeen = answers.length;
    if (tick++ % 4 === 0) officer.mergeChats(await api("GET", "/control/chats"), resident.userId());
    status.textContent = LABELS.connected;
    status.classList.remove("down");
  } catch (_) {
    status.textContent = LABELS.disconnected;
    status.classList.add("down");
  }
  setTimeout(poll, POLL_MS);
}

applyLabels();
remember();
loadOfficers().then(poll);
