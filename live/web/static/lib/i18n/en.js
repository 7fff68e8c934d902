// English. Keys are grouped by page; each page adds its own keys in its own section.
export default {
  // ---- common ----
  "app.name": "Yellowcart",
  "nav.home": "Live",
  "nav.studio": "Studio",
  "nav.shop": "Shop console",
  "nav.staff": "Staff console",
  "nav.orders": "My orders",
  "nav.docs": "API",
  "nav.sign_in": "Sign in",
  "nav.sign_out": "Sign out",
  "nav.language": "中文",
  "common.loading": "Loading…",
  "common.retry": "Try again",
  "common.save": "Save",
  "common.cancel": "Cancel",
  "common.close": "Close",
  "common.confirm": "Confirm",
  "common.reason": "Reason",
  "common.none": "None",
  "common.back": "Back",
  "common.refresh": "Refresh",
  "common.guest": "Guest",
  "common.not_allowed": "Your account may not open this page.",
  "common.sign_in_needed": "Sign in to continue.",
  "role.viewer": "Viewer",
  "role.streamer": "Streamer",
  "role.shop_operator": "Shop operator",
  "role.platform_staff": "Platform staff",
  "role.finance": "Finance",
  "room.state.scheduled": "Upcoming",
  "room.state.live": "Live",
  "room.state.ended": "Ended",
  "room.state.force_ended": "Ended by the platform",
  "room.state.cancelled": "Cancelled",
  "listing.status.pending": "Coming up",
  "listing.status.on_sale": "Grab now",
  "listing.status.sold_out": "Sold out",
  "listing.status.off": "Off",
  "order.status.pending_payment": "Awaiting payment",
  "order.status.paid": "Paid, awaiting shipment",
  "order.status.shipped": "Shipped",
  "order.status.delivered": "Delivered",
  "order.status.completed": "Completed",
  "order.status.cancelled": "Cancelled",
  "order.status.closed": "Closed",
  "channel.connecting": "Connecting…",
  "channel.reconnecting": "Reconnecting…",
  "channel.unauthorized": "Your sign-in expired: watching as a guest",
  "channel.flooded": "Too many messages: reconnecting shortly",
  "channel.gone": "This room does not exist.",
  "error.network": "The server could not be reached.",
  "error.unauthenticated": "Please sign in (again).",
  "error.forbidden": "You may not do this.",
  "error.not_found": "Not found.",
  "error.muted": "You are muted in this room.",
  "error.blocked": "Your message contains a blocked word: {words}",
  "error.rate_limited": "Too fast: wait a moment.",
  "error.login_required": "Sign in to chat.",
  "error.offline": "Not connected: reconnecting…",
  "error.timeout": "No answer from the server.",

  // ---- landing (pages/landing.js) ----
  "landing.live": "Live now",
  "landing.upcoming": "Coming up",
  "landing.replays": "Replays",
  "landing.online": "{n} watching",
  "landing.starts_in": "Starts in {left}",
  "landing.starting": "Starting soon",
  "landing.subscribe": "Remind me",
  "landing.subscribed": "Reminder set",
  "landing.replay": "Replay",
  "landing.none_live": "Nobody is live right now.",
  "landing.none_upcoming": "No rooms are scheduled.",
  "landing.none_replays": "No replays yet.",
  "landing.api_docs": "API documentation",

  // ---- sign-in (pages/signin.js) ----
  "signin.title": "Sign in",
  "signin.demo": "Demo accounts",
  "signin.demo_hint": "This server runs the demo: pick an account to sign in with one click.",
  "signin.as": "Sign in as {name}",
  "signin.token": "Sign in with a token",
  "signin.token_hint": "Paste a bearer token issued by your platform's identity service.",

  // ---- viewer room (pages/room.js) ----

  // ---- my orders (pages/orders.js) ----

  // ---- studio (pages/studio.js) ----

  // ---- shop console (pages/shop.js) ----

  // ---- staff console (pages/staff.js) ----

  // ---- API docs (pages/docs.js) ----
};
