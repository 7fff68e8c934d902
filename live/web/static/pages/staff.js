// The staff console: live rooms first with their online counts (force-end with a reason, stream
// events), shop applications (approve, reject, revoke, restore, history), moderation (the word list,
// the review queue, a room's mutes), the audit log, and finance (flags, statement reconciliation).
// Platform staff see every tab; finance sees the finance tab only (the API's rules); the server still
// refuses everything else.

import { useState } from "preact/hooks";
import { api, session } from "../lib/api.js";
import { t, formatTime, formatCount } from "../lib/i18n.js";
import { formatMoney } from "../lib/money.js";
import { html, mount, Header, RoleGate, useLoad, useInterval, useAction, ErrorLine } from "../lib/ui.js";

const ROOMS_MS = 3000;
const STAFF = ["platform_staff"];
const ROOM_STATES = ["live", "scheduled", "ended", "force_ended", "cancelled"];
const SHOP_STATES = ["applied", "approved", "rejected", "revoked"];
const NEEDS_REASON = new Set(["reject", "revoke"]);
const PAGE = 20;

const TABS = [
  { id: "rooms", roles: STAFF },
  { id: "shops", roles: STAFF },
  { id: "moderation", roles: STAFF },
  { id: "audit", roles: STAFF },
  { id: "finance", roles: ["finance", "platform_staff"] },
];

function mayUse(roles) {
  return roles.some((r) => session.has(r));
}

// a flag's or an audit entry's details, money fields shown as money
function Details({ details }) {
  const entries = Object.entries(details || {});
  if (!entries.length) return null;
  const currency = details.currency || details.expected_currency || null; // none known: the raw minor units
  return html`<span class="staff-details">${entries.map(
    ([k, v]) => html`<span><i>${k}</i> ${k.endsWith("_minor") && Number.isInteger(v) && currency ? formatMoney(v, currency) : typeof v === "object" ? JSON.stringify(v) : String(v)}</span> `,
  )}</span>`;
}

function Pager({ offset, count, total, limit = PAGE, onMove }) {
  const more = total === undefined ? count === limit : offset + count < total;
  return html`<div class="row staff-pager">
    <button class="small" data-testid="prev" disabled=${offset === 0} onClick=${() => onMove(Math.max(0, offset - limit))}>${t("staff.prev")}</button>
    <span class="muted">${total === undefined ? t("staff.page_from", { n: offset + 1 }) : t("staff.page_of", { from: count ? offset + 1 : 0, to: offset + count, total })}</span>
    <button class="small" data-testid="next" disabled=${!more} onClick=${() => onMove(offset + limit)}>${t("staff.next")}</button>
  </div>`;
}

// ---- rooms ----

function StreamEvents({ roomId }) {
  const [before, setBefore] = useState(null);
  const [page, error] = useLoad(
    () => api("GET", `/rooms/${roomId}/stream/events`, { query: { limit: 20, before } }),
    [roomId, before],
  );
  return html`<div class="staff-sub" data-testid="stream-events">
    <${ErrorLine} error=${error} />
    ${page && !page.items.length && html`<p class="muted">${t("staff.no_stream_events")}</p>`}
    ${page && page.items.length > 0 && html`<table class="stack">
      <tr><th>${t("staff.time")}</th><th>${t("staff.event")}</th><th>${t("staff.outcome")}</th><th>${t("staff.details")}</th></tr>
      ${page.items.map((e) => html`<tr key=${e.id} data-testid="stream-event">
        <td>${formatTime(e.at, { dateStyle: "short", timeStyle: "medium" })}</td><td>${e.kind} · ${e.name}</td><td>${e.outcome}</td><td><${Details} details=${e.payload} /></td>
      </tr>`)}
    </table>`}
    <div class="row">
      ${before && html`<button class="small" onClick=${() => setBefore(null)}>${t("staff.newest")}</button>`}
      ${page && page.next_before && html`<button class="small" onClick=${() => setBefore(page.next_before)}>${t("staff.older")}</button>`}
    </div>
  </div>`;
}

function RoomRow({ room, onChanged }) {
  const [open, setOpen] = useState(null); // null | "end" | "events" | "mutes"
  const [reason, setReason] = useState("");
  const act = useAction();
  const canEnd = (room.allowed_transitions || []).includes("force_ended");
  const toggle = (what) => setOpen(open === what ? null : what);
  const forceEnd = async (e) => {
    e.preventDefault();
    const done = await act.run(() => api("POST", `/staff/rooms/${room.id}/force-end`, { body: { reason: reason.trim() } }));
    if (done) {
      setOpen(null);
      setReason("");
      onChanged();
    }
  };
  const f = room.figures;
  return html`<div class="panel staff-item" data-testid="staff-room" data-room=${room.id} data-state=${room.state}>
    <div class="row">
      <span class=${"badge room-" + room.state} data-testid="room-state">${t("room.state." + room.state)}</span>
      <b class="grow"><a href=${"/live/" + room.id}>#${room.id} ${room.title}</a></b>
      ${f && html`<span class="staff-online" data-testid="room-online" title=${t("staff.peak_likes", { peak: formatCount(f.peak), likes: formatCount(f.likes) })}>
        ${t("staff.online", { n: formatCount(f.online) })}</span>`}
    </div>
    <div class="muted small-text">${[
      t("staff.room_meta", { shop: room.shop_id, streamer: room.streamer_id }),
      room.started_at ? t("staff.started", { at: formatTime(room.started_at) }) : "",
      !room.started_at && room.scheduled_at ? t("staff.scheduled", { at: formatTime(room.scheduled_at) }) : "",
      room.ended_at ? t("staff.ended", { at: formatTime(room.ended_at) }) : "",
    ].filter(Boolean).join(" · ")}
      ${room.end_reason && html` · <span data-testid="end-reason">${t("staff.reason_is", { reason: room.end_reason })}</span>`}
    </div>
    <div class="row">
      ${canEnd && html`<button class="small" data-testid="force-end" onClick=${() => toggle("end")}>${t("staff.force_end")}</button>`}
      <button class="small" data-testid="show-events" onClick=${() => toggle("events")}>${t("staff.stream_events")}</button>
      <button class="small" data-testid="show-mutes" onClick=${() => toggle("mutes")}>${t("staff.mutes_here")}</button>
    </div>
    ${open === "end" && html`<form class="staff-sub row" onSubmit=${forceEnd}>
      <input class="grow" data-testid="force-end-reason" required maxlength="500" placeholder=${t("staff.force_end_reason")}
        value=${reason} onInput=${(e) => setReason(e.target.value)} />
      <button class="danger small" data-testid="force-end-confirm" disabled=${act.busy || !reason.trim()}>${t("staff.force_end_confirm")}</button>
    </form>`}
    <${ErrorLine} error=${act.error} />
    ${open === "events" && html`<${StreamEvents} roomId=${room.id} />`}
    ${open === "mutes" && html`<div class="staff-sub"><${MuteList} roomId=${room.id} /></div>`}
  </div>`;
}

function RoomsTab() {
  const [state, setState] = useState("");
  const [offset, setOffset] = useState(0);
  const [page, error, reload] = useLoad(
    () => api("GET", "/staff/rooms", { query: { state: state || undefined, limit: PAGE, offset } }),
    [state, offset],
  );
  useInterval(reload, ROOMS_MS);
  return html`<section data-testid="tab-rooms">
    <div class="row">
      <label class="grow"><span>${t("staff.filter_state")}</span>
        <select data-testid="room-filter" value=${state} onChange=${(e) => { setState(e.target.value); setOffset(0); }}>
          <option value="">${t("staff.all_live_first")}</option>
          ${ROOM_STATES.map((s) => html`<option value=${s}>${t("room.state." + s)}</option>`)}
        </select>
      </label>
      <span class="muted">${t("staff.auto_refresh")}</span>
    </div>
    <${ErrorLine} error=${error} />
    ${page && !page.items.length && html`<p class="muted">${t("staff.no_rooms")}</p>`}
    ${page && page.items.map((r) => html`<${RoomRow} key=${r.id} room=${r} onChanged=${reload} />`)}
    ${page && html`<${Pager} offset=${offset} count=${page.items.length} total=${page.total} onMove=${setOffset} />`}
  </section>`;
}

// ---- shops ----

function ShopHistory({ shopId, version }) {
  const [list, error] = useLoad(() => api("GET", `/shops/${shopId}/history`), [shopId, version]);
  return html`<div class="staff-sub" data-testid="shop-history">
    <${ErrorLine} error=${error} />
    ${list && !list.items.length && html`<p class="muted">${t("common.none")}</p>`}
    ${list && list.items.length > 0 && html`<table class="stack">
      <tr><th>${t("staff.time")}</th><th>${t("staff.move")}</th><th>${t("staff.by")}</th><th>${t("common.reason")}</th></tr>
      ${list.items.map((x, i) => html`<tr key=${i} data-testid="history-entry" data-to=${x.to_state}>
        <td>${formatTime(x.at)}</td>
        <td>${x.from_state ? t("staff.shop." + x.from_state) + " → " : ""}${t("staff.shop." + x.to_state)}</td>
        <td>${x.actor_id} <span class="muted">(${t("role." + x.actor_role)})</span></td>
        <td>${x.reason || ""}</td>
      </tr>`)}
    </table>`}
  </div>`;
}

function ShopRow({ shop, onChanged }) {
  const [asking, setAsking] = useState(null); // the decision waiting for its reason
  const [reason, setReason] = useState("");
  const [history, setHistory] = useState(false);
  const [version, setVersion] = useState(0);
  const act = useAction();
  const decide = async (decision, why) => {
    const body = { decision };
    if (why) body.reason = why;
    const next = await act.run(() => api("POST", `/staff/shops/${shop.id}/decisions`, { body }));
    if (!next) {
      // refused: the shop may have moved meanwhile; show its state now (it stays in the list)
      const now = await api("GET", `/shops/${shop.id}`).catch(() => null);
      if (now) onChanged(now);
      return;
    }
    setAsking(null);
    setReason("");
    setVersion(version + 1);
    onChanged(next);
  };
  const click = (d) => (NEEDS_REASON.has(d) ? setAsking(asking === d ? null : d) : decide(d));
  const allowed = act.error && act.error.details && act.error.details.allowed_decisions;
  return html`<div class="panel staff-item" data-testid="staff-shop" data-shop=${shop.id} data-state=${shop.live_status}>
    <div class="row">
      <span class=${"badge staff-shop-" + shop.live_status} data-testid="shop-state">${t("staff.shop." + shop.live_status)}</span>
      <b class="grow">#${shop.id} ${shop.name}</b>
      <span class="muted">${shop.category}</span>
    </div>
    <div class="muted small-text">${t("staff.shop_meta", {
      owner: shop.owner_id, contact: shop.contact_name || "", phone: shop.contact_phone || "", licence: shop.business_license_no || "",
    })} · ${formatTime(shop.created_at)}</div>
    ${shop.description && html`<p class="small-text">${shop.description}</p>`}
    ${shop.status_reason && html`<p class="small-text" data-testid="shop-reason">${t("staff.reason_is", { reason: shop.status_reason })}</p>`}
    <div class="row">
      ${(shop.allowed_decisions || []).map((d) => html`<button class=${"small" + (d === "approve" || d === "restore" ? " primary" : "")}
        data-testid=${"decide-" + d} disabled=${act.busy} onClick=${() => click(d)}>${t("staff.decide." + d)}</button>`)}
      <button class="small" data-testid="show-history" onClick=${() => setHistory(!history)}>${t("staff.history")}</button>
    </div>
    ${asking && html`<form class="staff-sub row" onSubmit=${(e) => { e.preventDefault(); decide(asking, reason.trim()); }}>
      <input class="grow" data-testid="decision-reason" required maxlength="500" placeholder=${t("staff.reason_for." + asking)}
        value=${reason} onInput=${(e) => setReason(e.target.value)} />
      <button class="danger small" data-testid="decision-confirm" disabled=${act.busy || !reason.trim()}>${t("staff.decide." + asking)}</button>
    </form>`}
    <${ErrorLine} error=${act.error} />
    ${allowed && html`<p class="muted" data-testid="allowed-moves">${allowed.length
      ? t("staff.allowed_moves", { moves: allowed.map((d) => t("staff.decide." + d)).join(", ") })
      : t("staff.no_moves")}</p>`}
    ${history && html`<${ShopHistory} shopId=${shop.id} version=${version} />`}
  </div>`;
}

function ShopsTab() {
  const [status, setStatus] = useState("applied");
  const [offset, setOffset] = useState(0);
  const [page, error, reload, setPage] = useLoad(
    () => api("GET", "/staff/shops", { query: { status: status || undefined, limit: PAGE, offset } }),
    [status, offset],
  );
  // a decided shop stays in the list with its new state until the list is loaded again
  const changed = (next) => setPage({ ...page, items: page.items.map((x) => (x.id === next.id ? next : x)) });
  return html`<section data-testid="tab-shops">
    <div class="row">
      <label class="grow"><span>${t("staff.filter_state")}</span>
        <select data-testid="shop-filter" value=${status} onChange=${(e) => { setStatus(e.target.value); setOffset(0); }}>
          <option value="">${t("staff.all")}</option>
          ${SHOP_STATES.map((s) => html`<option value=${s}>${t("staff.shop." + s)}</option>`)}
        </select>
      </label>
      <button class="small" data-testid="shops-refresh" onClick=${reload}>${t("common.refresh")}</button>
    </div>
    <${ErrorLine} error=${error} />
    ${page && !page.items.length && html`<p class="muted">${t("staff.no_shops")}</p>`}
    ${page && page.items.map((s) => html`<${ShopRow} key=${s.id} shop=${s} onChanged=${changed} />`)}
    ${page && html`<${Pager} offset=${offset} count=${page.items.length} total=${page.total} onMove=${setOffset} />`}
  </section>`;
}

// ---- moderation ----

function Words() {
  const [list, error, reload] = useLoad(() => api("GET", "/staff/moderation/words"));
  const [word, setWord] = useState("");
  const [action, setAction] = useState("block");
  const act = useAction();
  const add = async (e) => {
    e.preventDefault();
    const done = await act.run(() => api("POST", "/staff/moderation/words", { body: { word: word.trim(), action } }));
    if (done) {
      setWord("");
      reload();
    }
  };
  const remove = async (w) => {
    await act.run(() => api("DELETE", `/staff/moderation/words/${w.id}`));
    reload();
  };
  return html`<div class="panel" data-testid="words">
    <h3>${t("staff.words")}</h3>
    <form class="row" onSubmit=${add}>
      <input class="grow" data-testid="word-input" required maxlength="64" placeholder=${t("staff.word")} value=${word} onInput=${(e) => setWord(e.target.value)} />
      <select data-testid="word-action" value=${action} onChange=${(e) => setAction(e.target.value)}>
        <option value="block">${t("staff.word_action.block")}</option>
        <option value="mask">${t("staff.word_action.mask")}</option>
      </select>
      <button class="primary small" data-testid="word-add" disabled=${act.busy || !word.trim()}>${t("staff.add")}</button>
    </form>
    <${ErrorLine} error=${error || act.error} />
    ${list && !list.items.length && html`<p class="muted">${t("staff.no_words")}</p>`}
    <ul class="staff-list">
      ${list && list.items.map((w) => html`<li key=${w.id} data-testid="word" data-word=${w.word}>
        <b>${w.word}</b> <span class="badge">${t("staff.word_action." + w.action)}</span>
        <span class="muted small-text">${w.created_by} · ${formatTime(w.created_at)}</span>
        <button class="link" data-testid="word-remove" disabled=${act.busy} onClick=${() => remove(w)}>${t("staff.remove")}</button>
      </li>`)}
    </ul>
  </div>`;
}

function ReviewRow({ item, onDone }) {
  const act = useAction();
  const decide = async (decision) => {
    const done = await act.run(() => api("POST", `/staff/moderation/reviews/${item.id}/decision`, { body: { decision } }));
    if (done) onDone();
  };
  return html`<li data-testid="review" data-review=${item.id} data-status=${item.status}>
    <div><b>${item.shown}</b> <span class="muted small-text">${t("staff.review_original", { text: item.original })}</span></div>
    <div class="muted small-text">
      ${t("staff.review_meta", { user: item.user_id, room: item.room_id, words: item.words })} · ${formatTime(item.created_at)}
      ${item.reviewed_by && html` · ${t("staff.reviewed_by", { who: item.reviewed_by })}`}
    </div>
    ${item.status === "pending"
      ? html`<div class="row">
          <button class="small" data-testid="review-approve" disabled=${act.busy} onClick=${() => decide("approve")}>${t("staff.review.approve")}</button>
          <button class="small danger" data-testid="review-remove" disabled=${act.busy} onClick=${() => decide("remove")}>${t("staff.review.remove")}</button>
        </div>`
      : html`<span class="badge">${t("staff.review_status." + item.status)}</span>`}
    <${ErrorLine} error=${act.error} />
  </li>`;
}

function Reviews() {
  const [status, setStatus] = useState("pending");
  const [roomId, setRoomId] = useState("");
  const [offset, setOffset] = useState(0);
  const [page, error, reload] = useLoad(
    () => api("GET", "/staff/moderation/reviews", { query: { status, room_id: roomId || undefined, limit: PAGE, offset } }),
    [status, roomId, offset],
  );
  return html`<div class="panel" data-testid="reviews">
    <h3>${t("staff.reviews")}</h3>
    <div class="row">
      <select data-testid="review-filter" value=${status} onChange=${(e) => { setStatus(e.target.value); setOffset(0); }}>
        ${["pending", "approved", "removed"].map((s) => html`<option value=${s}>${t("staff.review_status." + s)}</option>`)}
      </select>
      <input type="number" min="1" class="staff-id" placeholder=${t("staff.room_id")} value=${roomId}
        onChange=${(e) => { setRoomId(e.target.value); setOffset(0); }} />
      <button class="small" data-testid="reviews-refresh" onClick=${reload}>${t("common.refresh")}</button>
    </div>
    <${ErrorLine} error=${error} />
    ${page && !page.items.length && html`<p class="muted">${t("staff.no_reviews")}</p>`}
    <ul class="staff-list">${page && page.items.map((r) => html`<${ReviewRow} key=${r.id} item=${r} onDone=${reload} />`)}</ul>
    ${page && html`<${Pager} offset=${offset} count=${page.items.length} total=${page.total} onMove=${setOffset} />`}
  </div>`;
}

function MuteList({ roomId }) {
  const [list, error, reload] = useLoad(() => api("GET", `/rooms/${roomId}/mutes`), [roomId]);
  const [userId, setUserId] = useState("");
  const [reason, setReason] = useState("");
  const act = useAction();
  const mute = async (e) => {
    e.preventDefault();
    const body = { user_id: userId.trim() };
    if (reason.trim()) body.reason = reason.trim();
    const done = await act.run(() => api("POST", `/rooms/${roomId}/mutes`, { body }));
    if (done) {
      setUserId("");
      setReason("");
      reload();
    }
  };
  const unmute = async (m) => {
    await act.run(() => api("DELETE", `/rooms/${roomId}/mutes/${encodeURIComponent(m.user_id)}`));
    reload();
  };
  return html`<div data-testid="mutes">
    <form class="row" onSubmit=${mute}>
      <input data-testid="mute-user" required maxlength="64" placeholder=${t("staff.user_id")} value=${userId} onInput=${(e) => setUserId(e.target.value)} />
      <input class="grow" data-testid="mute-reason" maxlength="500" placeholder=${t("common.reason")} value=${reason} onInput=${(e) => setReason(e.target.value)} />
      <button class="small" data-testid="mute-add" disabled=${act.busy || !userId.trim()}>${t("staff.mute")}</button>
    </form>
    <${ErrorLine} error=${error || act.error} />
    ${list && !list.items.length && html`<p class="muted">${t("staff.no_mutes")}</p>`}
    <ul class="staff-list">
      ${list && list.items.map((m) => html`<li key=${m.user_id} data-testid="mute" data-user=${m.user_id}>
        <b>${m.user_id}</b> <span class="muted small-text">${t("staff.muted_by", { who: m.muted_by })} · ${formatTime(m.created_at)}${m.reason ? " · " + m.reason : ""}</span>
        <button class="link" data-testid="unmute" disabled=${act.busy} onClick=${() => unmute(m)}>${t("staff.unmute")}</button>
      </li>`)}
    </ul>
  </div>`;
}

function Mutes() {
  const [text, setText] = useState("");
  const [roomId, setRoomId] = useState(null);
  return html`<div class="panel">
    <h3>${t("staff.mutes")}</h3>
    <form class="row" onSubmit=${(e) => { e.preventDefault(); setRoomId(Number(text) || null); }}>
      <input type="number" min="1" class="staff-id" data-testid="mutes-room" placeholder=${t("staff.room_id")} value=${text} onInput=${(e) => setText(e.target.value)} />
      <button class="small" data-testid="mutes-show">${t("staff.show")}</button>
    </form>
    ${roomId && html`<${MuteList} key=${roomId} roomId=${roomId} />`}
  </div>`;
}

function ModerationTab() {
  return html`<section data-testid="tab-moderation" class="staff-columns">
    <${Words} />
    <${Reviews} />
    <${Mutes} />
  </section>`;
}

// ---- audit log ----

const NO_FILTER = { action: "", target_type: "", target_id: "", actor_id: "" };

function AuditTab() {
  const [draft, setDraft] = useState(NO_FILTER);
  const [filter, setFilter] = useState(NO_FILTER);
  const [offset, setOffset] = useState(0);
  const [page, error, reload] = useLoad(
    () => api("GET", "/staff/audit-log", { query: { ...filter, limit: PAGE, offset } }),
    [filter, offset],
  );
  const field = (name, props = {}) => html`<input data-testid=${"audit-" + name} value=${draft[name]} placeholder=${t("staff.audit." + name)}
    onInput=${(e) => setDraft({ ...draft, [name]: e.target.value })} ...${props} />`;
  const apply = (e) => {
    e.preventDefault();
    setFilter({ ...draft, action: draft.action.trim(), actor_id: draft.actor_id.trim() });
    setOffset(0);
  };
  return html`<section data-testid="tab-audit">
    <form class="row" onSubmit=${apply}>
      ${field("action", { maxlength: 64 })}
      <select data-testid="audit-target_type" value=${draft.target_type} onChange=${(e) => setDraft({ ...draft, target_type: e.target.value })}>
        <option value="">${t("staff.audit.any_target")}</option>
        ${["shop", "room", "listing", "product"].map((x) => html`<option value=${x}>${t("staff.target." + x)}</option>`)}
      </select>
      ${field("target_id", { type: "number", min: 1, class: "staff-id" })}
      ${field("actor_id", { maxlength: 64 })}
      <button class="small primary" data-testid="audit-apply">${t("staff.apply")}</button>
      <button class="small" type="button" onClick=${() => { setDraft(NO_FILTER); setFilter(NO_FILTER); setOffset(0); }}>${t("staff.clear")}</button>
      <button class="small" type="button" onClick=${reload}>${t("common.refresh")}</button>
    </form>
    <${ErrorLine} error=${error} />
    ${page && !page.items.length && html`<p class="muted">${t("staff.no_audit")}</p>`}
    ${page && page.items.length > 0 && html`<div class="staff-scroll"><table class="stack" data-testid="audit-table">
      <tr><th>${t("staff.time")}</th><th>${t("staff.by")}</th><th>${t("staff.action")}</th><th>${t("staff.target")}</th><th>${t("common.reason")}</th><th>${t("staff.details")}</th></tr>
      ${page.items.map((a) => html`<tr key=${a.id} data-testid="audit-entry" data-action=${a.action}>
        <td>${formatTime(a.at, { dateStyle: "short", timeStyle: "medium" })}</td>
        <td>${a.actor_id} <span class="muted">(${t("role." + a.actor_role)})</span></td>
        <td>${a.action}</td>
        <td>${a.target_type} #${a.target_id}</td>
        <td>${a.reason || ""}</td>
        <td><${Details} details=${a.details} /></td>
      </tr>`)}
    </table></div>`}
    ${page && html`<${Pager} offset=${offset} count=${page.items.length} total=${page.total} onMove=${setOffset} />`}
  </section>`;
}

// ---- finance ----

function yesterday() {
  return new Date(Date.now() - 86400000).toISOString().slice(0, 10); // the last day (UTC) that has ended
}

function Reconcile({ onDone }) {
  const [day, setDay] = useState(yesterday());
  const [result, setResult] = useState(null);
  const act = useAction();
  const run = async (e) => {
    e.preventDefault();
    setResult(null);
    const got = await act.run(() => api("POST", `/staff/finance/statements/${day}/reconcile`));
    if (got) {
      setResult(got);
      onDone();
    }
  };
  return html`<div class="panel" data-testid="reconcile">
    <h3>${t("staff.reconcile")}</h3>
    <p class="muted small-text">${t("staff.reconcile_hint")}</p>
    <form class="row" onSubmit=${run}>
      <input type="date" data-testid="reconcile-day" required value=${day} onInput=${(e) => setDay(e.target.value)} />
      <button class="primary small" data-testid="reconcile-run" disabled=${act.busy || !day}>${t("staff.reconcile_run")}</button>
    </form>
    <${ErrorLine} error=${act.error} />
    ${result && html`<div class="staff-result" data-testid="reconcile-result" data-day=${result.day}>
      <div class="figures">
        <div class="figure"><b>${result.day}</b><span>${t("staff.day")}</span></div>
        <div class="figure"><b data-testid="reconcile-lines">${result.lines}</b><span>${t("staff.lines")}</span></div>
        <div class="figure"><b data-testid="reconcile-matched">${result.matched}</b><span>${t("staff.matched")}</span></div>
        <div class="figure"><b data-testid="reconcile-fees">${result.fees.length ? result.fees.map((f) => formatMoney(f.amount_minor, f.currency)).join(" + ") : "0"}</b><span>${t("staff.fees")}</span></div>
        <div class="figure"><b data-testid="reconcile-mismatches">${result.mismatches.length}</b><span>${t("staff.mismatches")}</span></div>
      </div>
      ${result.mismatches.length > 0 && html`<ul class="staff-list">${result.mismatches.map((m, i) => html`<li key=${i} data-testid="mismatch"><${Details} details=${m} /></li>`)}</ul>`}
    </div>`}
  </div>`;
}

function Flags({ version }) {
  const [offset, setOffset] = useState(0);
  const [page, error] = useLoad(() => api("GET", "/staff/finance/flags", { query: { limit: PAGE, offset } }), [offset, version]);
  return html`<div class="panel" data-testid="flags">
    <h3>${t("staff.flags")}</h3>
    <${ErrorLine} error=${error} />
    ${page && !page.items.length && html`<p class="muted" data-testid="no-flags">${t("staff.no_flags")}</p>`}
    ${page && page.items.length > 0 && html`<div class="staff-scroll"><table class="stack">
      <tr><th>#</th><th>${t("staff.kind")}</th><th>${t("staff.order_payment")}</th><th>${t("staff.details")}</th><th>${t("staff.time")}</th><th>${t("staff.resolved")}</th></tr>
      ${page.items.map((f) => html`<tr key=${f.id} data-testid="flag" data-kind=${f.kind}>
        <td>${f.id}</td><td>${f.kind}</td><td>${f.order_id ?? "–"} / ${f.payment_id ?? "–"}</td>
        <td><${Details} details=${f.details} /></td><td>${formatTime(f.created_at)}</td><td>${f.resolved_at ? formatTime(f.resolved_at) : t("staff.open")}</td>
      </tr>`)}
    </table></div>`}
    ${page && html`<${Pager} offset=${offset} count=${page.items.length} onMove=${setOffset} />`}
  </div>`;
}

function FinanceTab() {
  const [version, setVersion] = useState(0);
  return html`<section data-testid="tab-finance" class="staff-columns">
    <${Reconcile} onDone=${() => setVersion((v) => v + 1)} />
    <${Flags} version=${version} />
  </section>`;
}

// ---- the page ----

const BODIES = { rooms: RoomsTab, shops: ShopsTab, moderation: ModerationTab, audit: AuditTab, finance: FinanceTab };

function Console() {
  const tabs = TABS.filter((x) => mayUse(x.roles));
  const asked = location.hash.slice(1);
  const [tab, setTab] = useState(tabs.some((x) => x.id === asked) ? asked : tabs[0].id);
  const pick = (id) => {
    setTab(id);
    history.replaceState(null, "", "#" + id);
  };
  const Body = BODIES[tab];
  return html`<nav class="tabs" data-testid="staff-tabs">
      ${tabs.map((x) => html`<button class=${x.id === tab ? "on" : ""} data-tab=${x.id} onClick=${() => pick(x.id)}>${t("staff.tab." + x.id)}</button>`)}
    </nav>
    <${Body} />`;
}

function StaffPage() {
  return html`<${Header} />
    <main class="staff">
      <h1>${t("staff.title")}</h1>
      <${RoleGate} roles=${["platform_staff", "finance"]}><${Console} /></${RoleGate}>
    </main>`;
}

mount(StaffPage);
