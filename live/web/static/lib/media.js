// Video in the browser: WHEP to watch and WHIP to publish (RFC 9725: POST the SDP offer, 201 with the
// answer and the session's Location, DELETE it to stop), and HLS through the browser or hls.js, which
// is loaded only when a room plays HLS.

async function exchange(url, pc, token) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await waitIce(pc);
  const headers = { "Content-Type": "application/sdp" };
  if (token) headers.Authorization = "Bearer " + token;
  const res = await fetch(url, { method: "POST", headers, body: pc.localDescription.sdp });
  if (res.status !== 201 && res.status !== 200) {
    let message = res.statusText;
    try {
      const body = await res.json();
      message = (body.error && body.error.message) || message;
    } catch {}
    throw Object.assign(new Error(message), { status: res.status });
  }
  const location = res.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
  return location ? new URL(location, url).toString() : null;
}

function waitIce(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 2000); // host candidates are enough on a LAN; do not wait for more
  });
}

// Watch over WHEP: returns {stop()}; the stream goes to `video`.
export async function playWhep(video, url, token) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.ontrack = (ev) => {
    stream.addTrack(ev.track);
    video.srcObject = stream;
    video.play().catch(() => {});
  };
  const session = await exchange(url, pc, token);
  return {
    pc,
    stop() {
      pc.close();
      if (session) fetch(session, { method: "DELETE", headers: token ? { Authorization: "Bearer " + token } : {} }).catch(() => {});
    },
  };
}

// Publish over WHIP: `stream` is a MediaStream (camera, or the test pattern below).
export async function publishWhip(stream, url, token) {
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: "sendonly" });
  const session = await exchange(url, pc, token);
  return {
    pc,
    stop() {
      pc.close();
      for (const track of stream.getTracks()) track.stop();
      if (session) fetch(session, { method: "DELETE", headers: token ? { Authorization: "Bearer " + token } : {} }).catch(() => {});
    },
  };
}

// A built-in test pattern: moving colour bars and a clock drawn on a canvas, plus a quiet tone.
export function testPattern(width = 640, height = 360, fps = 15) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const colours = ["#f5f5f5", "#f2d000", "#00c8d7", "#00b050", "#d0009b", "#e02020", "#2040d0"];
  let frame = 0;
  const timer = setInterval(() => {
    const w = width / colours.length;
    colours.forEach((c, i) => {
      ctx.fillStyle = c;
      ctx.fillRect(((i * w + frame * 2) % width), 0, w + 1, height);
    });
    ctx.fillStyle = "rgba(0,0,0,.6)";
    ctx.fillRect(0, height - 60, width, 60);
    ctx.fillStyle = "#fff";
    ctx.font = "28px monospace";
    ctx.fillText(new Date().toISOString().slice(11, 23), 20, height - 20);
    frame += 1;
  }, 1000 / fps);
  const stream = canvas.captureStream(fps);
  try {
    const audio = new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    gain.gain.value = 0.02;
    osc.connect(gain);
    const dest = audio.createMediaStreamDestination();
    gain.connect(dest);
    osc.start();
    for (const track of dest.stream.getAudioTracks()) stream.addTrack(track);
  } catch {}
  const stopTracks = stream.getTracks().map((tr) => tr.stop.bind(tr));
  stream.getTracks().forEach((tr) => {
    tr.stop = () => {
      clearInterval(timer);
      stopTracks.forEach((s) => s());
    };
  });
  return stream;
}

let hlsLoading = null;
function loadHls() {
  if (window.Hls) return Promise.resolve(window.Hls);
  if (!hlsLoading)
    hlsLoading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "/static/vendor/hls.js/hls.min.js";
      s.onload = () => resolve(window.Hls);
      s.onerror = reject;
      document.head.appendChild(s);
    });
  return hlsLoading;
}

function playNative(video, url) {
  video.src = url;
  video.play().catch(() => {});
  return { stop() { video.removeAttribute("src"); video.load(); } };
}

// Play an HLS playlist (live or a replay): hls.js wherever Media Source Extensions exist (it retries a
// playlist that is not there yet; some browsers' native HLS gives up at once), else the browser's own.
export async function playHls(video, url) {
  const mse = "MediaSource" in window || "ManagedMediaSource" in window;
  if (!mse && video.canPlayType("application/vnd.apple.mpegurl")) return playNative(video, url);
  const Hls = await loadHls();
  if (!Hls.isSupported()) return playNative(video, url);
  const hls = new Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 20, manifestLoadingRetryDelay: 1000 });
  hls.loadSource(url);
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
  let retry = null;
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (!data.fatal) return;
    // a live playlist may not be there yet, or the network dropped: keep trying, as a player should
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    else {
      clearTimeout(retry);
      retry = setTimeout(() => hls.loadSource(url), 2000);
    }
  });
  return { hls, stop() { clearTimeout(retry); hls.destroy(); } };
}
