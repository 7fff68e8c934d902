// The room channel client: the one place that speaks docs/PROTOCOL.md for every page (viewer room,
// studio, landing counts). It keeps the room's state (room, cart, counts, recent chat), applies state
// events strictly by `seq`, resumes with `since`/`user_since` after a drop, and takes a snapshot when
// the server says it could not recover. Pages read `channel.state` and re-render on `onChange`.

const TERMINAL = { 4000: "ended", 4001: "unauthorized", 4004: "gone", 4029: "flooded" };
const ENDED_STATES = new Set(["ended", "force_ended", "cancelled"]);
const CHAT_KEPT = 200;
const PING_MS = 25000;
const PONG_WAIT_MS = 10000;

export class RoomChannel {
  // opts: {token, onChange(state), onChat(entries), onBought(notice), onEvent(ev), onUser(events, frame),
  //        onError(frame), url (override for tests)}
  constructor(roomId, opts = {}) {
    this.roomId = roomId;
    this.opts = opts;
    this.token = opts.token || null;
    this.state = {
      status: "connecting", // connecting | live | reconnecting | ended | gone | flooded | unauthorized | stopped
      seq: null,
      userSeq: null,
      room: null,
      cart: [],
      counts: { online: 0, likes: 0, peak: 0 },
      chat: [],
      mutes: new Set(),
      bought: null,
      resumes: 0,
      snapshots: 0,
      lastClose: null,
    };
    this.ws = null;
    this.attempt = 0;
    this.pending = new Map(); // client message id -> {resolve, reject, timer}
    this.nextId = 1;
    this.likesToSend = 0;
    this.likeTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.retryTimer = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this._connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this._clearTimers();
    if (this.ws) this.ws.close(1000, "leaving");
    this._set({ status: "stopped" });
  }

  // Cut the connection as a network would (tests and the "reconnect" button): the client resumes.
  drop() {
    if (this.ws) this.ws.close(4900, "client dropped");
  }

  // ---- sending ----
  sendChat(text) {
    return this._request({ t: "chat", text }, "ack");
  }

  like(n = 1) {
    this.likesToSend += n;
    this.state.counts = { ...this.state.counts, likes: this.state.counts.likes + n }; // shown at once
    this._emit();
    if (!this.likeTimer) {
      this.likeTimer = setTimeout(() => {
        this.likeTimer = null;
        while (this.likesToSend > 0) {
          const n1 = Math.min(this.likesToSend, 50);
          this.likesToSend -= n1;
          this._send({ t: "like", n: n1 });
        }
      }, 250);
    }
  }

  authenticate(token) {
    this.token = token;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this._sendAuth();
  }

  // ---- connection ----
  _url() {
    if (this.opts.url) return this.opts.url(this.state);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const q = new URLSearchParams();
    if (this.state.seq !== null) q.set("since", String(this.state.seq));
    const s = q.toString();
    return `${scheme}//${location.host}/ws/rooms/${this.roomId}${s ? "?" + s : ""}`;
  }

  _connect() {
    clearTimeout(this.retryTimer);
    const ws = new WebSocket(this._url());
    this.ws = ws;
    let first = true;
    ws.onopen = () => {
      if (this.token) this._sendAuth();
      this._schedulePing();
    };
    ws.onmessage = (msg) => {
      let frame;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (first && (frame.t === "snapshot" || frame.t === "resume")) {
        first = false;
        this.attempt = 0;
      }
      this._frame(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this._clearTimers();
      this._failPending("closed", "the connection closed");
      this.state.lastClose = ev.code;
      if (this.stopped) return;
      const terminal = TERMINAL[ev.code];
      if (terminal === "ended" || this.state.status === "ended") return this._set({ status: "ended" });
      if (terminal === "gone") return this._set({ status: "gone" });
      if (terminal === "unauthorized") {
        this.token = null; // watch on as a guest; the page asks the viewer to sign in again
        this._set({ status: "unauthorized" });
        return this._retry(1000);
      }
      if (terminal === "flooded") {
        this._set({ status: "flooded" });
        return this._retry(30000);
      }
      this._set({ status: "reconnecting" });
      const base = ev.code === 1013 ? 1000 : 250;
      const delay = Math.min(10000, base * 2 ** this.attempt) + Math.random() * 500;
      this.attempt += 1;
      this._retry(delay);
    };
  }

  _retry(ms) {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.stopped) this._connect();
    }, ms);
  }

  _sendAuth() {
    const msg = { t: "auth", token: this.token, id: "auth" };
    if (this.state.userSeq !== null) msg.user_since = this.state.userSeq;
    this._send(msg);
  }

  _schedulePing() {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      this._send({ t: "ping", id: "p" + this.nextId++ });
      this.pongTimer = setTimeout(() => this.ws && this.ws.close(4901, "no pong"), PONG_WAIT_MS);
    }, PING_MS);
  }

  _clearTimers() {
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  _send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  _request(msg, answer) {
    return new Promise((resolve, reject) => {
      const id = "m" + this.nextId++;
      if (!this._send({ ...msg, id })) {
        reject({ code: "offline", message: "not connected" });
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject({ code: "timeout", message: "no answer" });
      }, 8000);
      this.pending.set(id, { resolve, reject, timer, answer });
    });
  }

  _failPending(code, message) {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject({ code, message });
      this.pending.delete(id);
    }
  }

  // ---- frames ----
  _frame(f) {
    switch (f.t) {
      case "snapshot":
        return this._snapshot(f);
      case "resume":
        this.state.resumes += 1;
        this._applyAll(f.state || []);
        this.state.seq = Math.max(this.state.seq ?? 0, f.seq);
        return this._set({ status: this._liveStatus() });
      case "batch":
        return this._batch(f);
      case "ended":
        this.state.room = { ...(this.state.room || { id: this.roomId }), state: f.state };
        return this._set({ status: "ended" });
      case "user":
        return this._user(f);
      case "ack":
      case "authed":
      case "pong": {
        if (f.t === "pong") {
          clearTimeout(this.pongTimer);
          this._schedulePing();
        }
        const p = this.pending.get(f.id);
        if (p) {
          clearTimeout(p.timer);
          this.pending.delete(f.id);
          p.resolve(f);
        }
        return;
      }
      case "error": {
        const p = f.id && this.pending.get(f.id);
        if (p) {
          clearTimeout(p.timer);
          this.pending.delete(f.id);
          p.reject(f);
        } else if (this.opts.onError) this.opts.onError(f);
        return;
      }
      default:
        return;
    }
  }

  _snapshot(f) {
    const s = this.state;
    s.snapshots += 1;
    s.seq = f.seq;
    s.room = f.room;
    s.cart = (f.cart || []).slice().sort((a, b) => a.position - b.position);
    s.counts = f.counts || s.counts;
    s.chat = (f.chat || []).slice(-CHAT_KEPT);
    if (this.opts.onChat && f.chat && f.chat.length) this.opts.onChat(f.chat, { replay: true });
    this._set({ status: this._liveStatus() });
  }

  _batch(f) {
    const s = this.state;
    if (f.state && f.state.length) this._applyAll(f.state);
    if (typeof f.seq === "number" && (s.seq === null || f.seq > s.seq)) s.seq = f.seq;
    if (f.counts) s.counts = f.counts;
    if (f.chat && f.chat.length) {
      s.chat = s.chat.concat(f.chat).slice(-CHAT_KEPT);
      if (this.opts.onChat) this.opts.onChat(f.chat, { replay: false });
    }
    if (f.bought) {
      const units = f.bought.units_left; // purchases change what is left without a state event
      if (units) s.cart = s.cart.map((l) => (String(l.id) in units ? { ...l, units_left: units[l.id] } : l));
      s.bought = { ...f.bought, at: Date.now() };
      if (this.opts.onBought) this.opts.onBought(f.bought);
    }
    this._set({ status: this._liveStatus() });
  }

  _user(f) {
    const known = this.state.userSeq;
    const fresh = (f.events || []).filter((e) => known === null || e.seq > known);
    if (typeof f.seq === "number") this.state.userSeq = Math.max(known ?? 0, f.seq);
    if (this.opts.onUser) this.opts.onUser(fresh, f);
  }

  _liveStatus() {
    const room = this.state.room;
    return room && ENDED_STATES.has(room.state) ? "ended" : "live";
  }

  _applyAll(events) {
    for (const ev of events) {
      if (this.state.seq !== null && ev.seq <= this.state.seq) continue; // a repeat
      this._apply(ev);
      this.state.seq = ev.seq;
      if (this.opts.onEvent) this.opts.onEvent(ev);
    }
  }

  // Apply one state event. A coalesced event merges a listing's (or the room's) events: apply every
  // field it carries, whatever its kind.
  _apply(ev) {
    const s = this.state;
    const kind = ev.kind || "";
    if (kind.startsWith("listing.")) {
      const id = ev.listing_id;
      if (kind === "listing.removed") {
        s.cart = s.cart.filter((l) => l.id !== id);
        return;
      }
      let listing = s.cart.find((l) => l.id === id);
      if (!listing) {
        listing = { id, room_id: ev.room_id, product_id: ev.product_id, position: ev.position ?? 1e9,
          status: "pending", live_price_minor: null, currency: ev.currency, units_left: 0, skus: [],
          product: null, incomplete: true };
        s.cart = s.cart.concat([listing]);
        if (this.opts.onIncomplete) this.opts.onIncomplete(listing);
      }
      const next = { ...listing };
      for (const f of ["status", "position", "currency", "stock", "units_left", "limit_per_user", "starts_at", "product_id"]) {
        if (f in ev) next[f] = ev[f];
      }
      if ("live_price_minor" in ev) next.live_price_minor = ev.live_price_minor;
      s.cart = s.cart.map((l) => (l.id === id ? next : l)).sort((a, b) => a.position - b.position);
      return;
    }
    if (kind === "cart.order") {
      const pos = new Map(ev.listing_ids.map((id, i) => [id, i + 1]));
      s.cart = s.cart.map((l) => ({ ...l, position: pos.get(l.id) ?? l.position })).sort((a, b) => a.position - b.position);
      return;
    }
    if (kind === "room.explaining") {
      s.room = { ...s.room, explaining_listing_id: ev.listing_id };
      s.cart = s.cart.map((l) => ({ ...l, explaining: l.id === ev.listing_id }));
      return;
    }
    if (kind === "chat.removed") {
      s.chat = s.chat.filter((c) => c.id !== ev.chat_id);
      return;
    }
    if (kind === "room.muted" || kind === "room.unmuted") {
      const mutes = new Set(s.mutes);
      if (kind === "room.muted") mutes.add(ev.user_id);
      else mutes.delete(ev.user_id);
      s.mutes = mutes;
      return;
    }
    if (kind === "stream.state") {
      const stream = { ...(s.room.stream || { replays: [] }), state: ev.state };
      if (ev.pull) stream.pull = ev.pull;
      s.room = { ...s.room, stream };
      return;
    }
    if (kind === "room.replay") {
      const stream = { ...(s.room.stream || { state: "ended", pull: {} }) };
      stream.replays = (stream.replays || []).concat([{ hls: ev.hls, cover: ev.cover, duration_s: ev.duration_s }]);
      s.room = { ...s.room, stream };
      return;
    }
    if (kind.startsWith("room.")) {
      const next = { ...s.room };
      for (const f of ["state", "title", "cover_url", "description", "scheduled_at", "reason"]) {
        if (f in ev) next[f] = ev[f];
      }
      if (kind === "room.state" && "reason" in ev) next.end_reason = ev.reason;
      s.room = next;
    }
  }

  // Pages fill in listings that arrived as bare `listing.added` events (the cart read gives their
  // product and SKUs).
  mergeListings(listings) {
    const byId = new Map(listings.map((l) => [l.id, l]));
    this.state.cart = this.state.cart.map((l) => {
      const full = byId.get(l.id);
      if (!full || !l.incomplete) return l;
      const { incomplete, ...rest } = l;
      return { ...full, ...rest, product: full.product, skus: full.skus, allowed_statuses: full.allowed_statuses };
    });
    this._emit();
  }

  _set(patch) {
    Object.assign(this.state, patch);
    this._emit();
  }

  _emit() {
    if (this.opts.onChange) this.opts.onChange(this.state);
  }
}
