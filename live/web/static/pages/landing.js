// The landing page: live rooms with their online counts (refreshed every few seconds), upcoming rooms
// with a countdown and a subscribe button, and replays.

import { useState } from "preact/hooks";
import { api, session } from "../lib/api.js";
import { t, formatCount, formatTime, countdown } from "../lib/i18n.js";
import { html, mount, Header, useLoad, useInterval, useNow, ErrorLine } from "../lib/ui.js";

const COUNTS_MS = 3000;

function Cover({ room, children }) {
  const style = room.cover_url ? `background-image:url("${room.cover_url.replace(/"/g, "")}")` : "";
  return html`<div class="cover" style=${style}>${children}</div>`;
}

function LiveCard({ room }) {
  return html`<a class="card" href=${"/live/" + room.id} data-room=${room.id} data-testid="live-room">
    <${Cover} room=${room}>
      <span class="badge room-live">${t("room.state.live")}</span>
      <span class="online" data-testid="online">${t("landing.online", { n: formatCount(room.figures ? room.figures.online : 0) })}</span>
    </${Cover}>
    <div class="body"><b>${room.title}</b></div>
  </a>`;
}

function UpcomingCard({ room, now, onToggle }) {
  const left = countdown(Date.parse(room.scheduled_at), now);
  return html`<div class="card" data-room=${room.id} data-testid="upcoming-room">
    <a href=${"/live/" + room.id}><${Cover} room=${room}><span class="badge room-scheduled">${t("room.state.scheduled")}</span></${Cover}></a>
    <div class="body">
      <b>${room.title}</b>
      <div class="muted">${formatTime(room.scheduled_at)}</div>
      <div class="row">
        <span class="grow" data-testid="countdown">${left ? t("landing.starts_in", { left }) : t("landing.starting")}</span>
        ${session.user
          ? html`<button class=${room.subscribed ? "small" : "small primary"} data-testid="subscribe" onClick=${() => onToggle(room)}>
              ${room.subscribed ? t("landing.subscribed") : t("landing.subscribe")} · ${room.subscriber_count}
            </button>`
          : html`<a class="button small" href="/sign-in?next=/">${t("landing.subscribe")}</a>`}
      </div>
    </div>
  </div>`;
}

function ReplayCard({ room }) {
  return html`<a class="card" href=${"/live/" + room.id} data-room=${room.id} data-testid="replay-room">
    <${Cover} room=${room}><span class="badge">${t("landing.replay")}</span></${Cover}>
    <div class="body"><b>${room.title}</b><div class="muted">${formatTime(room.ended_at)}</div></div>
  </a>`;
}

function Landing() {
  const [live, liveError, reloadLive] = useLoad(() => api("GET", "/rooms", { query: { state: "live", limit: 50 } }));
  const [upcoming, , reloadUpcoming, setUpcoming] = useLoad(() =>
    api("GET", "/rooms", { query: { state: "scheduled", limit: 50 } }),
  );
  const [ended] = useLoad(() => api("GET", "/rooms", { query: { state: "ended", limit: 24 } }));
  const [error, setError] = useState(null);
  const now = useNow(1000);
  useInterval(reloadLive, COUNTS_MS);
  useInterval(reloadUpcoming, 30000);
  const toggle = async (room) => {
    try {
      const got = await api(room.subscribed ? "DELETE" : "PUT", `/rooms/${room.id}/subscription`);
      setUpcoming({
        ...upcoming,
        items: upcoming.items.map((r) =>
          r.id === room.id ? { ...r, subscribed: got.subscribed, subscriber_count: got.subscriber_count } : r,
        ),
      });
    } catch (e) {
      setError(e);
    }
  };
  const replays = ended ? ended.items.filter((r) => r.stream && r.stream.replays && r.stream.replays.length) : [];
  return html`<${Header} />
    <main>
      <${ErrorLine} error=${liveError || error} />
      <h2>${t("landing.live")}</h2>
      ${live && !live.items.length && html`<p class="muted">${t("landing.none_live")}</p>`}
      <div class="cards" data-testid="live-rooms">${live && live.items.map((r) => html`<${LiveCard} key=${r.id} room=${r} />`)}</div>
      <h2>${t("landing.upcoming")}</h2>
      ${upcoming && !upcoming.items.length && html`<p class="muted">${t("landing.none_upcoming")}</p>`}
      <div class="cards">${upcoming && upcoming.items.map((r) => html`<${UpcomingCard} key=${r.id} room=${r} now=${now} onToggle=${toggle} />`)}</div>
      <h2>${t("landing.replays")}</h2>
      ${ended && !replays.length && html`<p class="muted">${t("landing.none_replays")}</p>`}
      <div class="cards">${replays.map((r) => html`<${ReplayCard} key=${r.id} room=${r} />`)}</div>
      <p class="muted footer"><a href="/docs">${t("landing.api_docs")}</a></p>
    </main>`;
}

mount(Landing);
