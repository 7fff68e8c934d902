// 简体中文。按页面分组；每个页面在自己的分节里添加词条。
export default {
  // ---- common ----
  "app.name": "小黄车直播",
  "nav.home": "直播",
  "nav.studio": "直播间中控台",
  "nav.shop": "商家后台",
  "nav.staff": "平台后台",
  "nav.orders": "我的订单",
  "nav.docs": "API 文档",
  "nav.sign_in": "登录",
  "nav.sign_out": "退出登录",
  "nav.language": "English",
  "common.loading": "加载中…",
  "common.retry": "重试",
  "common.save": "保存",
  "common.cancel": "取消",
  "common.close": "关闭",
  "common.confirm": "确认",
  "common.reason": "原因",
  "common.none": "无",
  "common.back": "返回",
  "common.refresh": "刷新",
  "common.guest": "游客",
  "common.not_allowed": "你的账号无权打开此页面。",
  "common.sign_in_needed": "请先登录。",
  "role.viewer": "观众",
  "role.streamer": "主播",
  "role.shop_operator": "店铺运营",
  "role.platform_staff": "平台运营",
  "role.finance": "财务",
  "room.state.scheduled": "预告",
  "room.state.live": "直播中",
  "room.state.ended": "已结束",
  "room.state.force_ended": "已被平台关播",
  "room.state.cancelled": "已取消",
  "listing.status.pending": "即将开抢",
  "listing.status.on_sale": "马上抢",
  "listing.status.sold_out": "已售罄",
  "listing.status.off": "已下架",
  "order.status.pending_payment": "待付款",
  "order.status.paid": "待发货",
  "order.status.shipped": "已发货",
  "order.status.delivered": "已送达",
  "order.status.completed": "已完成",
  "order.status.cancelled": "已取消",
  "order.status.closed": "已关闭",
  "channel.connecting": "连接中…",
  "channel.reconnecting": "正在重连…",
  "channel.unauthorized": "登录已过期：以游客身份观看",
  "channel.flooded": "消息过多：稍后重连",
  "channel.gone": "直播间不存在。",
  "error.network": "无法连接服务器。",
  "error.unauthenticated": "请（重新）登录。",
  "error.forbidden": "你无权执行此操作。",
  "error.not_found": "未找到。",
  "error.muted": "你已被禁言。",
  "error.blocked": "消息包含违禁词：{words}",
  "error.rate_limited": "操作太快，请稍候。",
  "error.login_required": "登录后才能发弹幕。",
  "error.offline": "未连接，正在重连…",
  "error.timeout": "服务器无响应。",

  // ---- landing (pages/landing.js) ----
  "landing.live": "正在直播",
  "landing.upcoming": "直播预告",
  "landing.replays": "直播回放",
  "landing.online": "{n} 人在看",
  "landing.starts_in": "{left} 后开播",
  "landing.starting": "即将开播",
  "landing.subscribe": "预约",
  "landing.subscribed": "已预约",
  "landing.replay": "回放",
  "landing.none_live": "现在没有人在直播。",
  "landing.none_upcoming": "暂无直播预告。",
  "landing.none_replays": "暂无回放。",
  "landing.api_docs": "API 文档",

  // ---- sign-in (pages/signin.js) ----
  "signin.title": "登录",
  "signin.demo": "演示账号",
  "signin.demo_hint": "本服务器运行演示数据：选择一个账号一键登录。",
  "signin.as": "以 {name} 登录",
  "signin.token": "使用令牌登录",
  "signin.token_hint": "粘贴平台身份服务签发的 Bearer 令牌。",

  // ---- viewer room (pages/room.js) ----

  // ---- my orders (pages/orders.js) ----

  // ---- studio (pages/studio.js) ----

  // ---- shop console (pages/shop.js) ----

  // ---- staff console (pages/staff.js) ----

  // ---- API docs (pages/docs.js) ----
};
