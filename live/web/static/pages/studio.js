// The streamer studio: the caller's rooms (create, schedule, edit, start, cancel, end), the room's cart
// (pick products, stock / per-user limit / countdown, reorder, live price, flips, "explaining now"),
// going live from the browser (camera or the test pattern over WHIP; the RTMP push URL and key to copy),
// and during the show the room channel's live cart, chat with mutes and the live figures.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, session, ApiError } from "../lib/api.js";
import { RoomChannel } from "../lib/channel.js";
import { t, formatTime, formatCount, countdown } from "../lib/i18n.js";
import { formatMoney, parseMoney, toDecimal } from "../lib/money.js";
import { publishWhip, testPattern } from "../lib/media.js";
import { html, mount, Header, RoleGate, useLoad, useAction, useInterval, useNow, ErrorLine, Status } from "../lib/ui.js";

const ROLES = ["streamer", "shop_operator"];
const REPORT_MS = 1000;
const OPEN_STATES = ["scheduled", "live"];
const PAST_STATES = ["ended", "force_ended", "cancelled"];
const CHAT_SHOWN = 60;

function roomParam() {
  return Number(new URLSearchParams(location.search).get("room")) || null;
}

function setRoomParam(id) {
  const u = new URL(location.href);
  if (id) u.searchParams.set("room", String(id));
  else u.searchParams.delete("room");
  history.replaceState(null, "", u);
}

// "2026-12-02T18:30" (the input's local time) -> ISO with the zone; "" -> null
function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const two = (x) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

function RoomState({ state }) {
  return html`<span class=${"badge room-" + state} data-status=${state}>${t("room.state." + state)}</span>`;
}

// ---- the page ----------------------------------------------------------------------------------

function Studio() {
  return html`<${Header} />
    <main class="studio">
      <${RoleGate} roles=${ROLES}><${Desk} /></${RoleGate}>
    </main>`;
}

function Desk() {
  const [me, meError] = useLoad(() => api("GET", "/me"));
  const [shopId, setShopId] = useState(null);
  const [roomId, setRoomId] = useState(roomParam());
  const [creating, setCreating] = useState(false);
  const [version, setVersion] = useState(0); // bumped when a room changes: the list reads again
  if (meError) return html`<${ErrorLine} error=${meError} />`;
  if (!me) return html`<p class="muted">${t("common.loading")}</p>`;
  const shops = me.shops;
  if (!shops.length) return html`<div class="panel" data-testid="no-shop"><p>${t("studio.no_shop")}</p></div>`;
  const shop = shops.find((s) => s.shop_id === shopId) || shops[0];
  const pick = (id) => {
    setRoomId(id);
    setCreating(false);
    setRoomParam(id);
  };
  return html`<h1>${t("studio.title")}</h1>
    ${shops.length > 1 &&
    html`<label><span>${t("studio.shop")}</span>
      <select data-testid="shop" value=${shop.shop_id} onChange=${(e) => { setShopId(Number(e.target.value)); pick(null); }}>
        ${shops.map((s) => html`<option value=${s.shop_id}>${s.name}</option>`)}
      </select></label>`}
    <div class=${"studio-grid" + (roomId || creating ? " has-room" : "")}>
      <aside class="studio-rooms">
        <${RoomList} me=${me} shop=${shop} current=${roomId} onPick=${pick}
          onNew=${() => { setRoomId(null); setRoomParam(null); setCreating(true); }} key=${[shop.shop_id, roomId, version].join(":")} />
      </aside>
      <section class="studio-room">
        ${creating
          ? html`<${RoomForm} me=${me} shop=${shop} onDone=${(room) => pick(room.id)} onCancel=${() => setCreating(false)} />`
          : roomId
            ? html`<${RoomDesk} key=${roomId} roomId=${roomId} me=${me} shop=${shop} onChanged=${() => setVersion((v) => v + 1)} />`
            : html`<p class="muted panel">${t("studio.pick_room")}</p>`}
      </section>
    </div>`;
}

function RoomList({ me, shop, current, onPick, onNew }) {
  const mine = (r) => shop.role !== "streamer" || r.streamer_id === me.user_id;
  const [open, error] = useLoad(() => api("GET", "/rooms", { query: { shop_id: shop.shop_id, state: OPEN_STATES, limit: 50 } }), [shop.shop_id]);
  const [past] = useLoad(() => api("GET", "/rooms", { query: { shop_id: shop.shop_id, state: PAST_STATES, limit: 5 } }), [shop.shop_id]);
  const item = (r) => html`<li key=${r.id}>
    <button class=${"room-item" + (r.id === current ? " on" : "")} data-testid="room-item" data-room=${r.id} onClick=${() => onPick(r.id)}>
      <${RoomState} state=${r.state} /> <b>${r.title}</b>
      <span class="muted">${r.state === "scheduled" ? formatTime(r.scheduled_at) : formatTime(r.started_at || r.ended_at)}</span>
    </button>
  </li>`;
  return html`<div class="panel">
    <div class="row"><h2 class="grow">${t("studio.rooms")}</h2>
      <button class="primary small" data-testid="new-room" onClick=${onNew}>${t("studio.new_room")}</button></div>
    <${ErrorLine} error=${error} />
    ${open && !open.items.filter(mine).length && html`<p class="muted">${t("studio.no_rooms")}</p>`}
    <ul class="plain">${open && open.items.filter(mine).map(item)}</ul>
    ${past && past.items.filter(mine).length > 0 &&
    html`<h3>${t("studio.past_rooms")}</h3><ul class="plain">${past.items.filter(mine).map(item)}</ul>`}
  </div>`;
}

// ---- create / edit a room ---------------------------------------------------------------------

// POST a picture's bytes to /uploads/images (the server reads its type from the bytes): {url, ...}
async function uploadImage(file) {
  const headers = { Accept: "application/json", "Content-Type": file.type || "application/octet-stream" };
  if (session.token) headers.Authorization = "Bearer " + session.token;
  let res;
  try {
    res = await fetch("/uploads/images", { method: "POST", headers, body: file });
  } catch (e) {
    throw new ApiError(0, "network", String(e && e.message ? e.message : e));
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || "http_" + res.status, err.message || res.statusText, err.details);
  }
  return data;
}

function RoomForm({ me, shop, room, onDone, onCancel }) {
  const editing = !!room;
  const [title, setTitle] = useState(room ? room.title : "");
  const [cover, setCover] = useState(room ? room.cover_url || "" : "");
  const [description, setDescription] = useState(room ? room.description : "");
  const operator = shop.role !== "streamer"; // operators schedule; only the streamer starts a room
  const [when, setWhen] = useState(editing || operator ? "later" : "now");
  const [at, setAt] = useState(room ? toLocalInput(room.scheduled_at) : "");
  const [streamer, setStreamer] = useState("");
  const [members] = useLoad(() => (operator ? api("GET", `/shops/${shop.shop_id}/members`) : Promise.resolve(null)), [shop.shop_id]);
  const streamers = members ? members.items.filter((m) => m.role === "streamer") : [];
  const hostId = streamer || (streamers[0] && streamers[0].user_id) || "";
  const { busy, error, run } = useAction();
  const upload = useAction();
  const pickCover = (e) => {
    const file = e.target.files && e.target.files[0];
    e.target.value = "";
    if (file) upload.run(async () => setCover((await uploadImage(file)).url));
  };
  const submit = (e) => {
    e.preventDefault();
    run(async () => {
      const scheduled = when === "later" ? fromLocalInput(at) : null;
      if (when === "later" && !scheduled) throw { code: "studio_bad_time", message: t("studio.bad_time") };
      let saved;
      if (editing) {
        saved = await api("PATCH", `/rooms/${room.id}`, {
          body: { title, cover_url: cover.trim(), description, scheduled_at: scheduled },
        });
      } else {
        const body = { shop_id: shop.shop_id, title, description, cover_url: cover.trim() || null };
        if (when === "now") body.start_now = true;
        else body.scheduled_at = scheduled;
        if (operator) body.streamer_id = hostId || null;
        saved = await api("POST", "/rooms", { body });
      }
      onDone(saved);
    });
  };
  return html`<form class="panel room-form" data-testid="room-form" onSubmit=${submit}>
    <h2>${editing ? t("studio.edit_room") : t("studio.new_room")}</h2>
    <label><span>${t("studio.room_title")}</span>
      <input data-testid="room-title" required maxlength="100" value=${title} onInput=${(e) => setTitle(e.target.value)} /></label>
    <label><span>${t("studio.cover_url")}</span>
      <input data-testid="room-cover" type="url" placeholder="https://…" value=${cover} onInput=${(e) => setCover(e.target.value)} /></label>
    <label class="row"><span>${t("studio.cover_upload")}</span>
      <input type="file" accept="image/png,image/jpeg,image/webp" data-testid="room-cover-file" disabled=${upload.busy} onChange=${pickCover} /></label>
    ${upload.busy && html`<span class="muted small-text">${t("studio.uploading")}</span>`}
    <${ErrorLine} error=${upload.error} />
    ${cover && html`<img class="cover-preview" data-testid="cover-preview" src=${cover} alt="" />`}
    <label><span>${t("studio.description")}</span>
      <textarea data-testid="room-description" maxlength="1000" rows="3" value=${description} onInput=${(e) => setDescription(e.target.value)}></textarea></label>
    ${!editing &&
    html`<div class="row">
      <label class="inline"><input type="radio" name="when" data-testid="room-now" checked=${when === "now"} disabled=${operator}
        onChange=${() => setWhen("now")} /> ${t("studio.start_now")}</label>
      <label class="inline"><input type="radio" name="when" data-testid="room-later" checked=${when === "later"}
        onChange=${() => setWhen("later")} /> ${t("studio.schedule")}</label>
    </div>`}
    ${when === "later" &&
    html`<label><span>${t("studio.scheduled_at")}</span>
      <input type="datetime-local" data-testid="room-at" value=${at} onInput=${(e) => setAt(e.target.value)} /></label>`}
    ${operator && !editing &&
    html`<label><span>${t("studio.streamer")}</span>
      <select data-testid="room-streamer" value=${hostId} onChange=${(e) => setStreamer(e.target.value)}>
        ${streamers.map((m) => html`<option value=${m.user_id}>${m.user_id}</option>`)}
      </select></label>
      <p class="muted small-text">${t("studio.operator_schedules")}</p>`}
    <${ErrorLine} error=${error} />
    <div class="row">
      <button class="primary" type="submit" data-testid="room-submit" disabled=${busy}>
        ${editing ? t("common.save") : when === "now" ? t("studio.create_live") : t("studio.create_scheduled")}</button>
      ${onCancel && html`<button type="button" onClick=${onCancel}>${t("common.cancel")}</button>`}
    </div>
  </form>`;
}

// ---- one room ----------------------------------------------------------------------------------

function useRoomChannel(roomId, active, onEvent) {
  const [, setTick] = useState(0);
  const [channel, setChannel] = useState(null);
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (!active) return undefined;
    const ch = new RoomChannel(roomId, {
      token: session.token,
      onChange: () => setTick((n) => n + 1),
      onEvent: (ev) => handler.current(ev),
      onIncomplete: () => handler.current({ kind: "listing.added" }),
      onBought: () => handler.current({ kind: "bought" }), // purchases change units left without an event
    });
    setChannel(ch);
    ch.start();
    window.studioChannel = ch; // for the browser tests and the console
    return () => ch.stop();
  }, [roomId, active]);
  return channel;
}

function RoomDesk({ roomId, me, shop, onChanged }) {
  const [roomRest, roomError, reloadRoom] = useLoad(() => api("GET", `/rooms/${roomId}`), [roomId]);
  const [cartRest, cartError, reloadCart] = useLoad(() => api("GET", `/rooms/${roomId}/cart`), [roomId]);
  const [editing, setEditing] = useState(false);
  const reloadTimer = useRef(null);
  const soon = () => {
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(reloadCart, 120);
  };
  useEffect(() => () => clearTimeout(reloadTimer.current), []);
  const [mutes, setMutes] = useState(new Set());
  const onEvent = (ev) => {
    const kind = ev.kind || "";
    if (kind.startsWith("listing.") || kind === "cart.order" || kind === "room.explaining" || kind === "bought") soon();
    if (kind === "room.state") {
      reloadRoom();
      onChanged();
    }
    if (kind === "room.muted" || kind === "room.unmuted")
      setMutes((m) => {
        const next = new Set(m);
        if (kind === "room.muted") next.add(ev.user_id);
        else next.delete(ev.user_id);
        return next;
      });
  };
  const openRoom = roomRest && OPEN_STATES.includes(roomRest.state);
  const channel = useRoomChannel(roomId, !!openRoom, onEvent);
  if (roomError) return html`<${ErrorLine} error=${roomError} />`;
  if (!roomRest) return html`<p class="muted">${t("common.loading")}</p>`;
  // the channel's room is the newest while the room is open; once the read says it has closed, the
  // (stopped) channel may not have heard it
  const cs = openRoom && channel ? channel.state : null;
  const room = cs && cs.room ? { ...roomRest, ...cs.room } : roomRest;
  const mineToHost = room.streamer_id === me.user_id;
  if (editing)
    return html`<${RoomForm} me=${me} shop=${shop} room=${room}
      onDone=${() => { setEditing(false); reloadRoom(); onChanged(); }} onCancel=${() => setEditing(false)} />`;
  return html`<div data-testid="room-desk" data-room=${room.id} data-state=${room.state}>
    <${RoomBar} room=${room} mineToHost=${mineToHost} channel=${openRoom ? channel : null} onEdit=${() => setEditing(true)} onChanged=${() => { reloadRoom(); onChanged(); }} />
    <${Figures} room=${room} channel=${openRoom ? channel : null} />
    <div class="studio-two">
      <${Cart} room=${room} shop=${shop} channel=${openRoom ? channel : null} rest=${cartRest} restError=${cartError} reload=${reloadCart} />
      <div>
        ${mineToHost && OPEN_STATES.includes(room.state) && html`<${Broadcast} room=${room} />`}
        ${!mineToHost && OPEN_STATES.includes(room.state) && html`<p class="muted panel">${t("studio.only_streamer_pushes", { id: room.streamer_id })}</p>`}
        ${openRoom && html`<${Chat} room=${room} me=${me} channel=${channel} mutes=${mutes} setMutes=${setMutes} />`}
      </div>
    </div>
  </div>`;
}

function RoomBar({ room, mineToHost, channel, onEdit, onChanged }) {
  const { busy, error, run } = useAction();
  const [confirming, setConfirming] = useState(null); // "end" | "cancel"
  const move = (path) =>
    run(async () => {
      await api("POST", `/rooms/${room.id}/${path}`, path === "cancel" ? { body: {} } : {});
      setConfirming(null);
      onChanged();
    });
  const can = (s) => (room.allowed_transitions || []).includes(s);
  const status = channel ? channel.state.status : null;
  return html`<div class="panel room-bar">
    <div class="row">
      ${room.cover_url && html`<img class="thumb" src=${room.cover_url} alt="" />`}
      <div class="grow">
        <h2 data-testid="room-name">${room.title}</h2>
        <div class="row">
          <span data-testid="room-state"><${RoomState} state=${room.state} /></span>
          ${room.state === "scheduled" && html`<span class="muted">${formatTime(room.scheduled_at)}</span>`}
          ${room.state === "live" && html`<span class="muted">${t("studio.since", { at: formatTime(room.started_at) })}</span>`}
          ${status && !["live", "stopped", "ended"].includes(status) && html`<span class="badge" data-testid="channel-status">${t("channel." + status)}</span>`}
          <a href=${"/live/" + room.id} target="_blank" rel="noopener">${t("studio.viewer_page")}</a>
        </div>
      </div>
    </div>
    ${room.description && html`<p class="muted">${room.description}</p>`}
    <div class="row">
      ${room.state === "scheduled" && html`<button onClick=${onEdit} data-testid="edit-room">${t("studio.edit_room")}</button>`}
      ${room.state === "scheduled" && mineToHost && can("live") &&
      html`<button class="primary" data-testid="start-room" disabled=${busy} onClick=${() => move("start")}>${t("studio.start_room")}</button>`}
      ${room.state === "scheduled" && can("cancelled") &&
      html`<button data-testid="cancel-room" onClick=${() => setConfirming("cancel")}>${t("studio.cancel_room")}</button>`}
      ${room.state === "live" &&
      html`<button class="danger" data-testid="end-room" onClick=${() => setConfirming("end")}>${t("studio.end_room")}</button>`}
    </div>
    ${confirming &&
    html`<div class="confirm row" data-testid="confirm">
      <span class="grow">${t(confirming === "end" ? "studio.confirm_end" : "studio.confirm_cancel")}</span>
      <button class="danger" data-testid="confirm-yes" disabled=${busy} onClick=${() => move(confirming)}>${t("common.confirm")}</button>
      <button data-testid="confirm-no" onClick=${() => setConfirming(null)}>${t("common.cancel")}</button>
    </div>`}
    <${ErrorLine} error=${error} />
  </div>`;
}

// ---- live figures ------------------------------------------------------------------------------

function Figures({ room, channel }) {
  const [report, error, reload] = useLoad(() => api("GET", `/rooms/${room.id}/report`), [room.id]);
  useInterval(reload, room.state === "live" ? REPORT_MS : 0);
  const counts = channel && channel.state.seq !== null ? channel.state.counts : null;
  const audience = report && report.audience;
  const online = counts ? counts.online : audience ? audience.online : 0;
  const peak = counts ? counts.peak : audience ? audience.peak : 0;
  const likes = counts ? counts.likes : audience ? audience.likes : 0;
  const fig = (id, value) => html`<div class="figure" data-testid=${"fig-" + id}><b>${value}</b><span>${t("studio.fig." + id)}</span></div>`;
  return html`<div class="panel">
    <div class="figures" data-testid="figures">
      ${fig("online", formatCount(online))} ${fig("peak", formatCount(peak))} ${fig("likes", formatCount(likes))}
      ${fig("orders", report ? formatCount(report.orders) : "–")} ${fig("units", report ? formatCount(report.units) : "–")}
      ${fig("gmv", report ? formatMoney(report.gmv_minor, report.currency || "CNY") : "–")}
    </div>
    ${report && html`<p class="muted small-text">${t("studio.placed", { n: formatCount(report.orders_placed) })}</p>`}
    <${ErrorLine} error=${error} />
  </div>`;
}

// ---- going live ----------------------------------------------------------------------------------

function Broadcast({ room }) {
  const [source, setSource] = useState("camera");
  const [creds, setCreds] = useState(null);
  const [publishing, setPublishing] = useState(false);
  const [copied, setCopied] = useState(null);
  const pub = useRef(null);
  const preview = useRef(null);
  const { busy, error, run } = useAction();
  const streamState = room.stream ? room.stream.state : "idle";
  const stop = () => {
    if (pub.current) pub.current.stop();
    pub.current = null;
    if (preview.current) preview.current.srcObject = null;
    setPublishing(false);
  };
  useEffect(() => stop, []);
  const credentials = () => run(async () => setCreds(await api("POST", `/rooms/${room.id}/stream/credentials`)));
  const goLive = () =>
    run(async () => {
      const got = await api("POST", `/rooms/${room.id}/stream/credentials`);
      setCreds(got);
      if (got.protocol !== "whip") return;
      const media = source === "pattern" ? testPattern() : await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      if (preview.current) {
        preview.current.srcObject = media;
        preview.current.play().catch(() => {});
      }
      try {
        pub.current = await publishWhip(media, got.url, got.bearer_token);
      } catch (e) {
        media.getTracks().forEach((tr) => tr.stop());
        if (preview.current) preview.current.srcObject = null;
        throw { code: "whip", message: e.message || String(e) };
      }
      setPublishing(true);
    });
  const copy = (what, text) => {
    const done = () => setCopied(what);
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, done);
    else done();
  };
  const rtmp = creds && creds.protocol !== "whip";
  return html`<div class="panel broadcast" data-testid="broadcast">
    <div class="row">
      <h3 class="grow">${t("studio.broadcast")}</h3>
      <span class=${"badge stream-" + streamState} data-testid="stream-state" data-state=${streamState}>${t("studio.stream." + streamState)}</span>
    </div>
    <div class="preview-box">
      <video ref=${preview} data-testid="preview" muted playsinline autoplay></video>
      ${!publishing && html`<span class="muted">${t("studio.preview_off")}</span>`}
    </div>
    ${!publishing &&
    html`<div class="row">
      <select data-testid="source" value=${source} onChange=${(e) => setSource(e.target.value)}>
        <option value="camera">${t("studio.source.camera")}</option>
        <option value="pattern">${t("studio.source.pattern")}</option>
      </select>
      <button class="primary" data-testid="go-live" disabled=${busy} onClick=${goLive}>${t("studio.publish")}</button>
      <button class="link" data-testid="show-rtmp" onClick=${credentials}>${t("studio.encoder")}</button>
    </div>`}
    ${publishing && html`<div class="row"><span class="ok grow" data-testid="publishing">${t("studio.publishing")}</span>
      <button data-testid="stop-publish" onClick=${stop}>${t("studio.stop_publish")}</button></div>`}
    ${room.state === "scheduled" && html`<p class="muted small-text">${t("studio.push_before_start")}</p>`}
    ${creds &&
    html`<div class="push" data-testid="push">
      ${rtmp
        ? html`<p class="muted small-text">${t("studio.rtmp_hint")}</p>`
        : html`<p class="muted small-text">${t("studio.whip_hint")}</p>`}
      ${(rtmp ? [["server", creds.server], ["key", creds.stream_key], ["url", creds.url]] : [["url", creds.url], ["token", creds.bearer_token]]).map(
        ([what, text]) => html`<div class="row copy">
          <span class="label">${t("studio.push." + what)}</span>
          <code class="grow" data-testid=${"push-" + what}>${text}</code>
          <button class="small" data-testid=${"copy-" + what} onClick=${() => copy(what, text)}>
            ${copied === what ? t("studio.copied") : t("studio.copy")}</button>
        </div>`,
      )}
      <p class="muted small-text">${t("studio.expires", { at: formatTime(creds.expires_at) })}</p>
    </div>`}
    <${ErrorLine} error=${error} />
  </div>`;
}

// ---- the cart ----------------------------------------------------------------------------------

function Cart({ room, shop, channel, rest, restError, reload }) {
  const ended = !OPEN_STATES.includes(room.state);
  const live = channel && channel.state.seq !== null ? channel.state.cart : null;
  const byId = new Map(((rest && rest.listings) || []).map((l) => [l.id, l]));
  const listings = (live || (rest && rest.listings) || [])
    .map((l) => {
      const full = byId.get(l.id);
      if (!full) return { ...l, allowed: null };
      // units left: the cart read (reloaded after every listing event and "just bought" notice), as
      // purchases change it without a state event
      return { ...full, ...l, units_left: full.units_left, product: full.product, skus: full.skus,
        allowed: full.status === l.status ? full.allowed_statuses : null };
    })
    .sort((a, b) => a.position - b.position);
  const explainingId = channel && channel.state.room ? channel.state.room.explaining_listing_id : rest && rest.explaining_listing_id;
  const [stocks, setStocks] = useState({});
  const ids = listings.map((l) => l.id).join(",");
  useEffect(() => {
    let gone = false;
    for (const l of listings) {
      if (l.id in stocks) continue;
      api("GET", `/rooms/${room.id}/listings/${l.id}/stock`).then(
        (s) => !gone && setStocks((m) => ({ ...m, [l.id]: s })),
        () => !gone && setStocks((m) => ({ ...m, [l.id]: null })),
      );
    }
    return () => { gone = true; };
  }, [ids]);
  const { error, run } = useAction();
  const order = (id, delta) =>
    run(async () => {
      const list = listings.map((l) => l.id);
      const i = list.indexOf(id);
      const j = i + delta;
      if (j < 0 || j >= list.length) return;
      [list[i], list[j]] = [list[j], list[i]];
      await api("PUT", `/rooms/${room.id}/cart/order`, { body: { listing_ids: list } });
      reload();
    });
  const explain = (id) =>
    run(async () => {
      await api("PUT", `/rooms/${room.id}/explaining`, { body: { listing_id: explainingId === id ? null : id } });
      reload();
    });
  return html`<div class="panel cart" data-testid="cart">
    <h3>${t("studio.cart")} <span class="muted">${listings.length}</span></h3>
    <${ErrorLine} error=${restError || error} />
    ${!listings.length && html`<p class="muted">${t("studio.cart_empty")}</p>`}
    <ol class="plain listings">
      ${listings.map(
        (l, i) => html`<${Listing} key=${l.id} room=${room} listing=${l} stock=${stocks[l.id]} first=${i === 0} last=${i === listings.length - 1}
          explaining=${explainingId === l.id} ended=${ended} onOrder=${order} onExplain=${explain}
          onStock=${(s) => setStocks((m) => ({ ...m, [l.id]: s }))} reload=${reload} />`,
      )}
    </ol>
    ${!ended && html`<${AddProduct} room=${room} shop=${shop} inCart=${new Set(listings.map((l) => l.product_id))} reload=${reload} />`}
  </div>`;
}

const MOVE_KEYS = { on_sale: "studio.move.on_sale", sold_out: "studio.move.sold_out", off: "studio.move.off", pending: "studio.move.pending" };

function Listing({ room, listing: l, stock, first, last, explaining, ended, onOrder, onExplain, onStock, reload }) {
  const now = useNow(1000);
  const { busy, error, run } = useAction();
  const [panel, setPanel] = useState(null); // "stock" | "price"
  const [restock, setRestock] = useState("10");
  const currency = l.currency;
  const stockNow = { ...(stock || {}) };
  for (const f of ["stock", "limit_per_user", "starts_at"]) if (f in l && l[f] !== undefined) stockNow[f] = l[f];
  stockNow.units_left = l.units_left;
  const allowed = l.allowed || [];
  const move = (status, addStock) =>
    run(async () => {
      const body = { status };
      if (addStock) body.add_stock = addStock;
      await api("POST", `/rooms/${room.id}/listings/${l.id}/status`, { body });
      reload();
    });
  const remove = () =>
    run(async () => {
      await api("DELETE", `/rooms/${room.id}/listings/${l.id}`);
      reload();
    });
  const price = l.product
    ? l.live_price_minor !== null && l.live_price_minor !== undefined
      ? formatMoney(l.live_price_minor, currency)
      : formatMoney(l.product.price_min_minor, currency)
    : "";
  const startsIn = stockNow.starts_at ? countdown(Date.parse(stockNow.starts_at), now) : "";
  const refused = error && error.code === "invalid_transition" && error.details ? error.details.allowed || [] : null;
  const restockN = Number(restock);
  return html`<li class=${"listing" + (explaining ? " explaining" : "")} data-testid="listing" data-listing=${l.id} data-status=${l.status}>
    <div class="row">
      ${l.product && l.product.image && html`<img class="thumb" src=${l.product.image} alt="" />`}
      <div class="grow">
        <b data-testid="listing-title">${l.product ? l.product.title : "#" + l.id}</b>
        <div class="row">
          <span data-testid="listing-status"><${Status} kind="listing" value=${l.status} /></span>
          ${explaining && html`<span class="badge explaining-badge" data-testid="explaining">${t("studio.explaining")}</span>`}
          <span data-testid="listing-price">${price}</span>
          ${l.live_price_minor !== null && l.live_price_minor !== undefined && l.product &&
          html`<s class="muted">${formatMoney(l.product.price_min_minor, currency)}</s>`}
        </div>
        <div class="muted small-text" data-testid="listing-stock">
          ${stockNow.stock !== undefined && stockNow.stock !== null && stockNow.stock > 0
            ? t("studio.stock_line", { left: formatCount(stockNow.units_left), stock: formatCount(stockNow.stock) })
            : t("studio.no_stock")}
          ${stockNow.limit_per_user ? " · " + t("studio.limit_line", { n: stockNow.limit_per_user }) : ""}
          ${startsIn ? " · " + t("studio.starts_in", { left: startsIn }) : ""}
        </div>
      </div>
      ${!ended &&
      html`<div class="order-buttons">
        <button class="small" data-testid="up" aria-label=${t("studio.up")} title=${t("studio.up")} disabled=${first || busy} onClick=${() => onOrder(l.id, -1)}>↑</button>
        <button class="small" data-testid="down" aria-label=${t("studio.down")} title=${t("studio.down")} disabled=${last || busy} onClick=${() => onOrder(l.id, 1)}>↓</button>
      </div>`}
    </div>
    ${!ended &&
    html`<div class="row moves">
      ${allowed.map(
        (s) => html`<button class=${"small" + (s === "on_sale" ? " primary" : "")} data-testid=${"move-" + s} disabled=${busy}
          onClick=${() => move(s)}>${t(MOVE_KEYS[s])}</button>`,
      )}
      ${l.allowed === null && html`<span class="muted small-text">${t("common.loading")}</span>`}
      ${room.state === "live" &&
      html`<button class=${"small" + (explaining ? " on" : "")} data-testid="explain" disabled=${busy} onClick=${() => onExplain(l.id)}>
        ${explaining ? t("studio.stop_explaining") : t("studio.explain")}</button>`}
      <button class="small link" data-testid="edit-stock" onClick=${() => setPanel(panel === "stock" ? null : "stock")}>${t("studio.stock")}</button>
      <button class="small link" data-testid="edit-price" onClick=${() => setPanel(panel === "price" ? null : "price")}>${t("studio.price")}</button>
      ${l.status === "pending" && html`<button class="small link" data-testid="remove" disabled=${busy} onClick=${remove}>${t("studio.remove")}</button>`}
    </div>`}
    ${!ended && allowed.includes("on_sale") && (l.status === "sold_out" || l.status === "off") &&
    html`<div class="row">
      <input class="num" type="number" min="1" data-testid="restock-n" value=${restock} onInput=${(e) => setRestock(e.target.value)} />
      <button class="small" data-testid="restock" disabled=${busy || !(restockN >= 1)} onClick=${() => move("on_sale", restockN)}>${t("studio.restock")}</button>
    </div>`}
    ${refused &&
    html`<p class="muted small-text" data-testid="allowed-moves">${t("studio.allowed_moves", {
      moves: refused.length ? refused.map((s) => t("listing.status." + s)).join(", ") : t("common.none"),
    })}</p>`}
    <${ErrorLine} error=${error} />
    ${panel === "stock" && html`<${StockForm} room=${room} listing=${l} stock=${stockNow} onSaved=${(s) => { onStock(s); setPanel(null); }} />`}
    ${panel === "price" && html`<${PriceForm} room=${room} listing=${l} onSaved=${() => { setPanel(null); reload(); }} />`}
  </li>`;
}

function StockForm({ room, listing, stock, onSaved }) {
  const [units, setUnits] = useState(stock.stock !== undefined ? String(stock.stock) : "");
  const [limit, setLimit] = useState(stock.limit_per_user ? String(stock.limit_per_user) : "");
  const [startsAt, setStartsAt] = useState(toLocalInput(stock.starts_at));
  const { busy, error, run } = useAction();
  const save = (e) => {
    e.preventDefault();
    run(async () => {
      const body = {
        stock: Number(units),
        limit_per_user: limit ? Number(limit) : null,
        starts_at: fromLocalInput(startsAt),
      };
      onSaved(await api("PUT", `/rooms/${room.id}/listings/${listing.id}/stock`, { body }));
    });
  };
  return html`<form class="sub" data-testid="stock-form" onSubmit=${save}>
    <div class="row">
      <label><span>${t("studio.units")}</span><input class="num" type="number" min="0" required data-testid="stock-units" value=${units} onInput=${(e) => setUnits(e.target.value)} /></label>
      <label><span>${t("studio.limit")}</span><input class="num" type="number" min="1" data-testid="stock-limit" placeholder=${t("studio.no_limit")} value=${limit} onInput=${(e) => setLimit(e.target.value)} /></label>
      <label><span>${t("studio.starts_at")}</span><input type="datetime-local" data-testid="stock-starts" value=${startsAt} onInput=${(e) => setStartsAt(e.target.value)} /></label>
    </div>
    <${ErrorLine} error=${error} />
    <button class="primary small" type="submit" data-testid="stock-save" disabled=${busy}>${t("common.save")}</button>
  </form>`;
}

function PriceForm({ room, listing, onSaved }) {
  const currency = listing.currency;
  const [text, setText] = useState(listing.live_price_minor !== null && listing.live_price_minor !== undefined ? toDecimal(listing.live_price_minor, currency) : "");
  const { busy, error, run, setError } = useAction();
  const save = (value) =>
    run(async () => {
      await api("PUT", `/rooms/${room.id}/listings/${listing.id}/price`, { body: { live_price_minor: value } });
      onSaved();
    });
  const submit = (e) => {
    e.preventDefault();
    const minor = parseMoney(text, currency);
    if (minor === null) return setError({ code: "studio_bad_price", message: t("studio.bad_price") });
    save(minor);
  };
  return html`<form class="sub row" data-testid="price-form" onSubmit=${submit}>
    <label><span>${t("studio.live_price", { currency })}</span>
      <input class="money" inputmode="decimal" data-testid="price-input" value=${text} onInput=${(e) => setText(e.target.value)} /></label>
    <button class="primary small" type="submit" data-testid="price-save" disabled=${busy}>${t("common.save")}</button>
    <button class="small" type="button" data-testid="price-clear" disabled=${busy} onClick=${() => save(null)}>${t("studio.clear_price")}</button>
    <${ErrorLine} error=${error} />
  </form>`;
}

function AddProduct({ room, shop, inCart, reload }) {
  const [products, error] = useLoad(() => api("GET", `/shops/${shop.shop_id}/products`, { query: { limit: 100 } }), [shop.shop_id]);
  const [pick, setPick] = useState("");
  const action = useAction();
  const choices = products ? products.items.filter((p) => !inCart.has(p.id) && p.status !== "archived") : [];
  const add = () =>
    action.run(async () => {
      const id = Number(pick || (choices[0] && choices[0].id));
      if (!id) return;
      await api("POST", `/rooms/${room.id}/listings`, { body: { product_id: id } });
      setPick("");
      reload();
    });
  return html`<div class="add-product">
    <${ErrorLine} error=${error || action.error} />
    ${products && !choices.length
      ? html`<p class="muted small-text">${t("studio.all_in_cart")}</p>`
      : html`<div class="row">
          <select class="grow" data-testid="product-pick" value=${pick} onChange=${(e) => setPick(e.target.value)}>
            ${choices.map((p) => html`<option value=${p.id}>${p.title} · ${formatMoney(Math.min(...p.skus.map((s) => s.price_minor)), p.currency)}</option>`)}
          </select>
          <button class="primary small" data-testid="add-product" disabled=${action.busy || !choices.length} onClick=${add}>${t("studio.add_to_cart")}</button>
        </div>`}
  </div>`;
}

// ---- chat and mutes ----------------------------------------------------------------------------

function Chat({ room, me, channel, mutes, setMutes }) {
  const [text, setText] = useState("");
  const list = useRef(null);
  const { busy, error, run } = useAction();
  useEffect(() => {
    api("GET", `/rooms/${room.id}/mutes`).then(
      (got) => setMutes(new Set(got.items.map((m) => m.user_id))),
      () => {},
    );
  }, [room.id]);
  const chat = channel ? channel.state.chat.slice(-CHAT_SHOWN) : [];
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [chat.length && chat[chat.length - 1].id]);
  const mute = (userId) =>
    run(async () => {
      await api("POST", `/rooms/${room.id}/mutes`, { body: { user_id: userId } });
      setMutes((m) => new Set([...m, userId]));
    });
  const unmute = (userId) =>
    run(async () => {
      await api("DELETE", `/rooms/${room.id}/mutes/${encodeURIComponent(userId)}`);
      setMutes((m) => {
        const next = new Set(m);
        next.delete(userId);
        return next;
      });
    });
  const send = (e) => {
    e.preventDefault();
    if (!text.trim() || !channel) return;
    run(async () => {
      await channel.sendChat(text.trim());
      setText("");
    });
  };
  const mutedOthers = [...mutes].filter((u) => !chat.some((c) => c.user_id === u));
  return html`<div class="panel chat" data-testid="chat">
    <h3>${t("studio.chat")}</h3>
    <ul class="plain chat-list" ref=${list}>
      ${!chat.length && html`<li class="muted">${t("studio.no_chat")}</li>`}
      ${chat.map(
        (c) => html`<li key=${c.id} data-testid="chat-line" data-user=${c.user_id}>
          <b>${c.name || c.user_id}</b> <span>${c.text}</span>
          ${c.user_id !== me.user_id &&
          (mutes.has(c.user_id)
            ? html`<button class="small link" data-testid="unmute" onClick=${() => unmute(c.user_id)}>${t("studio.unmute")}</button>`
            : html`<button class="small link" data-testid="mute" onClick=${() => mute(c.user_id)}>${t("studio.mute")}</button>`)}
        </li>`,
      )}
    </ul>
    ${mutedOthers.length > 0 &&
    html`<p class="muted small-text" data-testid="muted-list">${t("studio.muted")}:
      ${mutedOthers.map((u) => html` <span>${u} <button class="small link" data-testid="unmute" onClick=${() => unmute(u)}>${t("studio.unmute")}</button></span>`)}</p>`}
    <form class="row" onSubmit=${send}>
      <input class="grow" maxlength="100" data-testid="chat-input" placeholder=${t("studio.say")} value=${text} onInput=${(e) => setText(e.target.value)} />
      <button class="small" type="submit" disabled=${busy || !text.trim()}>${t("studio.send")}</button>
    </form>
    <${ErrorLine} error=${error} />
  </div>`;
}

mount(Studio);
