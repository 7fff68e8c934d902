// The viewer's room: the video (WHEP for the in-process provider, HLS for nginx-rtmp and the CDNs, the
// replay after the end), danmaku flying over it and the chat, likes and the online count, and the
// little yellow cart with buying in place (SKU, quantity, address, an order with an Idempotency-Key,
// payment on the provider's page, the order's state from the channel's `user` frames). Everything
// about the room channel is RoomChannel's (lib/channel.js); this page only draws its state.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, apiRetrying, newKey, session } from "../lib/api.js";
import { RoomChannel } from "../lib/channel.js";
import { t, formatCount, formatTime, countdown, errorText } from "../lib/i18n.js";
import { formatMoney } from "../lib/money.js";
import { playHls, playWhep } from "../lib/media.js";
import { html, mount, Header, ErrorLine, useNow, Status } from "../lib/ui.js";

const ROOM_ID = Number(location.pathname.split("/").filter(Boolean)[1]);
const ENDED = new Set(["ended", "force_ended", "cancelled"]);
const ADDRESS_KEY = "yc.address";
const CHAT_SHOWN = 60;
const DANMAKU_MAX = 24; // flying at once; more are dropped (the chat list still has them)
const DANMAKU_LANES = 6;
const RENDER_MS = 80; // channel changes are drawn at most this often
let usableMarked = false;

// ---- danmaku: plain DOM nodes moved by a CSS animation, off Preact's path ----

class Danmaku {
  constructor() {
    this.el = null;
    this.flying = new Map(); // chat id -> node
    this.lane = 0;
  }

  attach(el) {
    this.el = el;
  }

  push(entries) {
    if (!this.el || document.hidden) return;
    for (const c of entries) {
      if (this.flying.size >= DANMAKU_MAX) return;
      const node = document.createElement("span");
      node.className = "dm" + (c.user_id && session.user && c.user_id === session.user.id ? " mine" : "");
      node.textContent = c.text;
      node.style.top = (this.lane % DANMAKU_LANES) * (100 / DANMAKU_LANES) + 2 + "%";
      node.style.animationDuration = 6 + (this.lane % 3) + "s";
      this.lane += 1;
      const id = c.id || "x" + this.lane;
      node.dataset.chat = id;
      node.addEventListener("animationend", () => this.remove(id));
      this.flying.set(id, node);
      this.el.appendChild(node);
    }
  }

  remove(id) {
    const node = this.flying.get(id);
    if (node) {
      node.remove();
      this.flying.delete(id);
    }
  }
}

// ---- video ----

function sourceOf(room) {
  if (!room) return { kind: "none" };
  const stream = room.stream;
  if (ENDED.has(room.state)) {
    const replay = stream && stream.replays && stream.replays.length ? stream.replays[stream.replays.length - 1] : null;
    return replay ? { kind: "hls", url: replay.hls, replay: true } : { kind: "none" };
  }
  if (room.state !== "live" || !stream || stream.state !== "publishing") return { kind: "waiting" };
  if (stream.pull && stream.pull.webrtc) return { kind: "whep", url: stream.pull.webrtc };
  if (stream.pull && stream.pull.hls) return { kind: "hls", url: stream.pull.hls };
  return { kind: "waiting" };
}

function Video({ room }) {
  const video = useRef(null);
  const [playing, setPlaying] = useState(false);
  const [failed, setFailed] = useState(null);
  const src = sourceOf(room);
  const key = src.kind + ":" + (src.url || "");
  useEffect(() => {
    if (src.kind !== "whep" && src.kind !== "hls") return undefined;
    let player = null;
    let gone = false;
    let timer = null;
    setFailed(null);
    const start = async () => {
      try {
        if (src.kind === "whep") {
          let token = null;
          let url = src.url;
          try {
            const s = await api("GET", `/rooms/${ROOM_ID}/stream`);
            token = s.play_token;
            url = (s.pull && s.pull.webrtc) || url;
          } catch {}
          if (gone) return;
          player = await playWhep(video.current, url, token);
          const pc = player.pc;
          let stalled = null;
          pc.addEventListener("connectionstatechange", () => {
            const st = pc.connectionState;
            clearTimeout(stalled);
            if (gone || !player || player.pc !== pc) return;
            if (st === "failed" || st === "closed") again();
            else if (st === "disconnected") stalled = setTimeout(() => pc.connectionState !== "connected" && again(), 3000);
          });
        } else {
          player = await playHls(video.current, src.url);
        }
        if (gone) player.stop();
      } catch (e) {
        setFailed(e);
        again();
      }
    };
    const again = () => {
      if (player) player.stop();
      player = null;
      clearTimeout(timer);
      if (!gone) timer = setTimeout(start, 2000);
    };
    start();
    return () => {
      gone = true;
      clearTimeout(timer);
      if (player) player.stop();
      setPlaying(false);
    };
  }, [key]);
  const showVideo = src.kind === "whep" || src.kind === "hls";
  const poster = room && room.cover_url ? room.cover_url : undefined;
  return html`<div class="video-box">
    <video
      ref=${video}
      data-testid="video"
      data-source=${src.kind}
      data-replay=${src.replay ? "true" : "false"}
      class=${showVideo ? "" : "hidden"}
      playsinline
      autoplay
      muted
      controls=${!!src.replay}
      poster=${poster}
      onPlaying=${() => setPlaying(true)}
    ></video>
    ${src.kind === "waiting" &&
    html`<div class="video-note" data-testid="waiting" style=${poster ? `background-image:url("${poster.replace(/"/g, "")}")` : ""}>
      <span>${room.state === "scheduled" ? t("room.starts_at", { at: formatTime(room.scheduled_at) }) : t("room.waiting")}</span>
    </div>`}
    ${showVideo && !playing && html`<div class="video-note light"><span>${failed ? t("room.video_retrying") : t("room.video_loading")}</span></div>`}
  </div>`;
}

// ---- cart ----

function listingPrice(l, sku) {
  if (l.live_price_minor !== null && l.live_price_minor !== undefined) return l.live_price_minor;
  if (sku) return sku.price_minor;
  return l.product ? l.product.price_min_minor : null;
}

function startsIn(l, now) {
  return l.starts_at ? countdown(Date.parse(l.starts_at), now) : "";
}

function Listing({ l, now, explaining, onBuy }) {
  const wait = startsIn(l, now);
  const canBuy = l.status === "on_sale" && l.units_left > 0 && !wait && l.product;
  const img = l.product && l.product.image;
  const status = l.status === "on_sale" && wait ? "pending" : l.status;
  return html`<li
    class=${"listing" + (explaining ? " explaining" : "") + (l.status !== "on_sale" ? " dim" : "")}
    data-testid="listing"
    data-listing=${l.id}
    data-status=${l.status}
    id=${"listing-" + l.id}
  >
    <div class="thumb" style=${img ? `background-image:url("${img.replace(/"/g, "")}")` : ""}>
      <span class="pos">${l.position}</span>
    </div>
    <div class="info">
      <b>${l.product ? l.product.title : t("room.loading_item")}</b>
      ${explaining && html`<span class="badge explaining" data-testid="explaining">${t("room.explaining")}</span>`}
      <div class="row">
        <span class="price" data-testid="price">${formatMoney(listingPrice(l), l.currency)}</span>
        ${l.live_price_minor !== null && l.live_price_minor !== undefined && l.product && l.product.price_min_minor !== l.live_price_minor &&
        html`<s class="muted">${formatMoney(l.product.price_min_minor, l.currency)}</s>`}
      </div>
      <div class="row small-text">
        <${Status} kind="listing" value=${status} />
        ${wait && html`<span data-testid="countdown">${t("room.starts_in", { left: wait })}</span>`}
        ${(l.status === "on_sale" || l.status === "pending") && l.stock > 0 &&
        html`<span class="muted" data-testid="units-left">${t("room.units_left", { n: l.units_left })}</span>`}
        ${l.limit_per_user && html`<span class="muted">${t("room.limit", { n: l.limit_per_user })}</span>`}
      </div>
    </div>
    <div class="act">
      ${session.user
        ? html`<button class="primary" data-testid="buy" disabled=${!canBuy} onClick=${() => onBuy(l.id)}>
            ${l.status === "sold_out" ? t("listing.status.sold_out") : t("room.buy")}
          </button>`
        : html`<a class="button small" href=${"/sign-in?next=" + encodeURIComponent(location.pathname)}>${t("room.sign_in_to_buy")}</a>`}
    </div>
  </li>`;
}

function Cart({ cart, explainingId, open, onClose, onBuy }) {
  const now = useNow(1000);
  const list = useRef(null);
  useEffect(() => {
    if (!explainingId || !list.current) return;
    const el = list.current.querySelector(`[data-listing="${explainingId}"]`);
    if (el) el.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }, [explainingId, open]);
  return html`<section class=${"cart-panel" + (open ? " open" : "")} data-testid="cart">
    <div class="row cart-head">
      <h3 class="grow">${t("room.cart")} · ${cart.length}</h3>
      <button class="link close-cart" data-testid="cart-close" onClick=${onClose}>${t("common.close")}</button>
    </div>
    ${!cart.length && html`<p class="muted">${t("room.cart_empty")}</p>`}
    <ul class="listings" ref=${list}>
      ${cart.map((l) => html`<${Listing} key=${l.id} l=${l} now=${now} explaining=${l.id === explainingId} onBuy=${onBuy} />`)}
    </ul>
  </section>`;
}

// ---- buying ----

const ADDRESS_FIELDS = [
  ["name", "text", 50],
  ["phone", "tel", 20],
  ["line1", "text", 200],
  ["city", "text", 64],
  ["postal_code", "text", 12],
  ["country", "text", 2],
];

function savedAddress() {
  try {
    return { name: "", phone: "", line1: "", city: "", postal_code: "", country: "CN", ...JSON.parse(localStorage.getItem(ADDRESS_KEY) || "{}") };
  } catch {
    return { name: "", phone: "", line1: "", city: "", postal_code: "", country: "CN" };
  }
}

function attrs(sku) {
  const parts = Object.entries(sku.attributes || {}).map(([k, v]) => `${k}: ${v}`);
  return parts.length ? parts.join(", ") : sku.code;
}

async function openPayment(order, setError) {
  // open the window now, while the click still counts, then send it to the provider's page
  const win = window.open("", "_blank");
  try {
    const c = await apiRetrying("POST", `/orders/${order.id}/pay`);
    if (!c.pay_url) throw { code: "no_pay_url", message: t("room.no_pay_url") };
    if (win) win.location.href = c.pay_url;
    else location.href = c.pay_url;
  } catch (e) {
    if (win) win.close();
    setError(e);
  }
}

function OrderState({ order, onCancel }) {
  const [error, setError] = useState(null);
  return html`<div class="order-state" data-testid="order" data-order=${order.id}>
    <div class="row">
      <span class="grow">${t("room.order_no", { id: order.id })} · ${order.title}</span>
      <span data-testid="order-status" data-status=${order.status}><${Status} kind="order" value=${order.status} /></span>
    </div>
    <div class="row">
      <b class="grow">${formatMoney(order.total_minor, order.currency)}</b>
      ${order.status === "pending_payment" &&
      html`<button class="link" data-testid="cancel-order" onClick=${() => onCancel(order).catch(setError)}>${t("room.cancel_order")}</button>
        <button class="primary" data-testid="pay" onClick=${() => openPayment(order, setError)}>${t("room.pay")}</button>`}
    </div>
    ${order.status === "pending_payment" && html`<p class="muted small-text">${t("room.pay_by", { at: formatTime(order.pay_by, { timeStyle: "short" }) })}</p>`}
    ${order.status === "paid" && html`<p class="ok" data-testid="paid">${t("room.paid")}</p>`}
    <${ErrorLine} error=${error} />
  </div>`;
}

function BuySheet({ listing, order, onClose, onOrdered, onCancel }) {
  const skus = listing.skus || [];
  const [skuId, setSkuId] = useState(skus.length ? skus[0].id : null);
  const [qty, setQty] = useState(1);
  const [addr, setAddr] = useState(savedAddress);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const key = useRef(newKey()); // one order, one key: a retry of the same order sends it again
  const changed = () => (key.current = newKey());
  const sku = skus.find((s) => s.id === skuId);
  const max = Math.max(1, Math.min(listing.limit_per_user || 99, listing.units_left || 1));
  const place = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    const address = { ...addr, country: (addr.country || "").toUpperCase() };
    try {
      const made = await apiRetrying("POST", `/rooms/${ROOM_ID}/listings/${listing.id}/orders`, {
        body: { sku_id: skuId, quantity: qty, address },
        key: key.current,
      });
      localStorage.setItem(ADDRESS_KEY, JSON.stringify(address));
      onOrdered(made);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="sheet buy-sheet" data-testid="buy-sheet" role="dialog">
    <div class="row">
      <h3 class="grow">${listing.product ? listing.product.title : ""}</h3>
      <button class="link" data-testid="buy-close" onClick=${onClose}>${t("common.close")}</button>
    </div>
    ${order
      ? html`<${OrderState} order=${order} onCancel=${onCancel} />`
      : html`<form onSubmit=${place}>
          <div class="price big" data-testid="sheet-price">${formatMoney(listingPrice(listing, sku) * qty, listing.currency)}</div>
          ${skus.length > 1 &&
          html`<fieldset class="skus"><legend>${t("room.choose_sku")}</legend>
            ${skus.map(
              (s) => html`<label class="chip">
                <input type="radio" name="sku" data-testid="sku" value=${s.id} checked=${s.id === skuId}
                  onChange=${() => { setSkuId(s.id); changed(); }} />
                <span>${attrs(s)}</span>
              </label>`,
            )}
          </fieldset>`}
          <label><span>${t("room.quantity")}${listing.limit_per_user ? " · " + t("room.limit", { n: listing.limit_per_user }) : ""}</span>
            <input type="number" data-testid="quantity" min="1" max=${max} value=${qty}
              onInput=${(e) => { setQty(Math.max(1, Math.min(max, Number(e.target.value) || 1))); changed(); }} />
          </label>
          <fieldset class="address"><legend>${t("room.address")}</legend>
            ${ADDRESS_FIELDS.map(
              ([f, type, len]) => html`<label><span>${t("room.address." + f)}</span>
                <input type=${type} name=${f} data-testid=${"address-" + f} maxlength=${len} value=${addr[f] || ""}
                  required=${f !== "postal_code"}
                  onInput=${(e) => { setAddr({ ...addr, [f]: e.target.value }); changed(); }} /></label>`,
            )}
          </fieldset>
          <${ErrorLine} error=${error} />
          <button class="primary wide" data-testid="place-order" disabled=${busy || !skuId}>${t("room.place_order")}</button>
        </form>`}
  </div>`;
}

// ---- chat ----

function ChatList({ chat }) {
  const box = useRef(null);
  const shown = chat.slice(-CHAT_SHOWN);
  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  });
  return html`<ul class="chat" ref=${box} data-testid="chat">
    ${shown.map((c) => html`<li key=${c.id} data-testid="chat-line"><b>${c.name || t("common.guest")}</b> ${c.text}</li>`)}
  </ul>`;
}

function ChatInput({ channel, muted }) {
  const [text, setText] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const send = async (ev) => {
    ev.preventDefault();
    const msg = text.trim();
    if (!msg) return;
    setBusy(true);
    setError(null);
    try {
      await channel.sendChat(msg);
      setText((now) => (now.trim() === msg ? "" : now)); // keep what was typed meanwhile
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="chat-input" onSubmit=${send}>
    ${muted && html`<p class="error" data-testid="muted">${t("error.muted")}</p>`}
    ${error && html`<p class="error" role="alert" data-testid="chat-error" data-code=${error.code || ""}>${errorText(error)}</p>`}
    <div class="row">
      <input class="grow" data-testid="chat-text" maxlength="100" value=${text} placeholder=${session.user ? t("room.say") : t("room.sign_in_to_chat")}
        onInput=${(e) => setText(e.target.value)} />
      <button data-testid="chat-send" disabled=${busy || !text.trim()}>${t("room.send")}</button>
    </div>
  </form>`;
}

// ---- the page ----

function boughtText(b) {
  const names = (b.recent || []).map((r) => r.name);
  const first = names[0] || "";
  const others = Math.max(0, (b.count || names.length) - 1);
  const title = b.recent && b.recent[0] ? b.recent[0].title : "";
  return others ? t("room.bought_many", { name: first, n: others, title }) : t("room.bought_one", { name: first, title });
}

function statusLine(status) {
  if (status === "reconnecting" || status === "connecting" || status === "unauthorized" || status === "flooded")
    return t("channel." + status);
  return "";
}

function hasReplay(room) {
  return !!(room.stream && room.stream.replays && room.stream.replays.length);
}

function Ended({ room }) {
  const reason = room.state === "force_ended" && (room.end_reason || room.reason);
  return html`<div class=${"ended" + (hasReplay(room) ? " panel" : " over")} data-testid="ended">
    <h2>${t("room.ended_title")}</h2>
    <p>${t("room.state." + room.state)}${reason ? " · " + reason : ""}</p>
    ${!hasReplay(room) && html`<p class="muted">${t("room.no_replay")}</p>`}
    <a class="button" href="/">${t("room.more_rooms")}</a>
  </div>`;
}

function Room() {
  const [, redraw] = useState(0);
  const [cartOpen, setCartOpen] = useState(false);
  const [buying, setBuying] = useState(null); // listing id
  const [orders, setOrders] = useState({}); // id -> order placed here
  const [sheetOrder, setSheetOrder] = useState(null); // order id shown in the sheet
  const [bought, setBought] = useState(null);
  const [notice, setNotice] = useState(null);
  const ch = useRef(null);
  const dm = useRef(null);
  if (!dm.current) dm.current = new Danmaku();
  const ordersRef = useRef(orders);
  ordersRef.current = orders;

  useEffect(() => {
    let timer = null;
    let cartTimer = null;
    let shownStatus = null;
    const later = () => {
      const status = ch.current ? ch.current.state.status : null;
      if (status !== shownStatus) {
        // the first snapshot, a drop, the end: drawn at once; everything else at most every RENDER_MS
        shownStatus = status;
        clearTimeout(timer);
        timer = null;
        redraw((n) => n + 1);
      } else if (!timer) timer = setTimeout(() => { timer = null; redraw((n) => n + 1); }, RENDER_MS);
    };
    const rereadCart = () => async () => {  // listings that arrived as bare listing.added events
      try {
        channel.mergeListings((await api("GET", `/rooms/${ROOM_ID}/cart`)).listings);
      } catch {}
    };
    const reloadOrders = async () => {
      for (const id of Object.keys(ordersRef.current)) {
        try {
          const o = await api("GET", `/orders/${id}`);
          setOrders((prev) => ({ ...prev, [o.id]: o }));
        } catch {}
      }
    };
    const channel = new RoomChannel(ROOM_ID, {
      token: session.token,
      onChange: later,
      onChat: (entries, { replay }) => {
        if (!replay) dm.current.push(entries);
      },
      onBought: (b) => {
        setBought({ text: boughtText(b), at: Date.now() });  // its units_left the channel applied
      },
      onIncomplete: () => {
        clearTimeout(cartTimer);
        cartTimer = setTimeout(rereadCart(), 100);
      },
      onEvent: (ev) => {
        if (ev.kind === "chat.removed") dm.current.remove(ev.chat_id);
      },
      onUser: (events, frame) => {
        if (frame.recovered === false) reloadOrders();
        const moves = events.filter((e) => e.kind === "order.status");
        if (moves.length)
          setOrders((prev) => {
            const next = { ...prev };
            for (const e of moves) if (next[e.order_id]) next[e.order_id] = { ...next[e.order_id], status: e.status };
            return next;
          });
      },
      onError: (f) => setNotice(f),
    });
    ch.current = channel;
    window.ycChannel = channel; // tests cut the connection through it
    channel.start();
    return () => {
      clearTimeout(timer);
      channel.stop();
    };
  }, []);

  useEffect(() => {
    if (!bought) return undefined;
    const id = setTimeout(() => setBought(null), 4000);
    return () => clearTimeout(id);
  }, [bought]);
  useEffect(() => {
    if (!notice) return undefined;
    const id = setTimeout(() => setNotice(null), 6000);
    return () => clearTimeout(id);
  }, [notice]);

  const channel = ch.current;
  useEffect(() => {
    // the moment the room is usable (cart and chat on screen), for the page's performance figure
    if (!usableMarked && channel && channel.state.room && channel.state.cart.length) {
      usableMarked = true;
      performance.mark("room-usable");
    }
  });
  const s = channel ? channel.state : { status: "connecting", room: null, cart: [], counts: {}, chat: [], mutes: new Set() };
  const room = s.room;
  const ended = s.status === "ended" || (room && ENDED.has(room.state));

  // after the end the channel is closed: read the room once for its final record (and replay)
  const [endRoom, setEndRoom] = useState(null);
  useEffect(() => {
    if (!ended) return undefined;
    let tries = 0;
    let id = null;
    const read = async () => {
      try {
        const r = await api("GET", `/rooms/${ROOM_ID}`);
        setEndRoom(r);
        if (r.stream && r.stream.replays && r.stream.replays.length) return;
      } catch {}
      tries += 1; // a replay is usually ready within a minute: look often at first, then seldom
      if (tries < 30) id = setTimeout(read, tries < 12 ? 5000 : 30000);
    };
    read();
    return () => clearTimeout(id);
  }, [ended]);

  if (s.status === "gone")
    return html`<${Header} compact />
      <main><div class="panel gate" data-testid="gone"><p>${t("channel.gone")}</p><a class="button" href="/">${t("room.more_rooms")}</a></div></main>`;

  const shownRoom = ended ? { ...(room || {}), ...(endRoom || {}), state: (endRoom && endRoom.state) || (room && room.state) || "ended" } : room;
  const explainingId = room && room.explaining_listing_id;
  const explaining = explainingId && s.cart.find((l) => l.id === explainingId);
  const listing = buying && s.cart.find((l) => l.id === buying);
  const me = session.user;
  const muted = !!(me && s.mutes && s.mutes.has(me.id));
  const line = statusLine(s.status);
  const myOrders = Object.values(orders).sort((a, b) => b.id - a.id);

  const cancelOrder = async (order) => {
    const o = await api("POST", `/orders/${order.id}/cancel`, { body: {} });
    setOrders((prev) => ({ ...prev, [o.id]: o }));
  };

  return html`<${Header} compact />
    ${line && html`<div class="status-bar" data-testid="channel-status" data-status=${s.status}>${line}</div>`}
    <main class="room" data-testid="room" data-state=${shownRoom ? shownRoom.state : ""}>
      <div class="stage-col">
        <div class="stage">
          ${shownRoom && html`<${Video} room=${shownRoom} />`}
          <div class="danmaku" ref=${(el) => dm.current.attach(el)} data-testid="danmaku"></div>
          <div class="stage-top">
            <span class="title">${shownRoom && shownRoom.title}</span>
            ${room && room.state === "live" && html`<span class="badge room-live">${t("room.state.live")}</span>`}
            <span class="online" data-testid="online">${t("room.online", { n: formatCount(s.counts.online || 0) })}</span>
          </div>
          ${bought && html`<div class="bought" data-testid="bought">${bought.text}</div>`}
          ${ended && shownRoom && !hasReplay(shownRoom) && html`<${Ended} room=${shownRoom} />`}
          ${explaining && !ended &&
          html`<button class="explaining-chip" data-testid="explaining-chip" onClick=${() => setCartOpen(true)}>
            ${t("room.explaining")} · ${explaining.product ? explaining.product.title : ""} · ${formatMoney(listingPrice(explaining), explaining.currency)}
          </button>`}
        </div>
        ${ended && shownRoom && hasReplay(shownRoom) && html`<${Ended} room=${shownRoom} />`}
        ${!room && !ended && html`<p class="muted">${t("channel.connecting")}</p>`}
        ${myOrders.length > 0 &&
        html`<div class="my-orders">
          ${myOrders.map(
            (o) => html`<button class="small" data-testid="my-order" data-status=${o.status} onClick=${() => { setSheetOrder(o.id); setBuying(o.listing_id); }}>
              ${o.title} · ${t("order.status." + o.status)}
            </button>`,
          )}
        </div>`}
        ${notice && html`<p class="error" data-testid="notice">${errorText(notice)}</p>`}
        <div class="talk">
          <${ChatList} chat=${s.chat} />
          <div class="talk-bar">
            <button class="cart-button" data-testid="cart-button" onClick=${() => setCartOpen(!cartOpen)} aria-label=${t("room.cart")}>
              <img src="/static/img/icon.svg" alt="" width="20" height="20" /> ${s.cart.length}
            </button>
            <div class="grow">${channel && !ended && html`<${ChatInput} channel=${channel} muted=${muted} />`}</div>
            <button class="like" disabled=${ended} data-testid="like" onClick=${() => channel && channel.like(1)} aria-label=${t("room.like")}>
              <span aria-hidden="true">♥</span> <span data-testid="likes">${formatCount(s.counts.likes || 0)}</span>
            </button>
          </div>
        </div>
      </div>
      <${Cart}
        cart=${s.cart}
        explainingId=${explainingId}
        open=${cartOpen}
        onClose=${() => setCartOpen(false)}
        onBuy=${(id) => { setSheetOrder(null); setBuying(id); }}
      />
      ${listing &&
      html`<${BuySheet}
        key=${listing.id + ":" + (sheetOrder || "")}
        listing=${listing}
        order=${sheetOrder ? orders[sheetOrder] : null}
        onClose=${() => { setBuying(null); setSheetOrder(null); }}
        onOrdered=${(o) => { setOrders((prev) => ({ ...prev, [o.id]: o })); setSheetOrder(o.id); }}
        onCancel=${cancelOrder}
      />`}
    </main>`;
}

if (!Number.isSafeInteger(ROOM_ID) || ROOM_ID <= 0) {
  mount(() => html`<${Header} /><main><div class="panel gate" data-testid="gone"><p>${t("channel.gone")}</p></div></main>`);
} else mount(Room);
