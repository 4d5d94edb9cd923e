/* The webcam step of certification: preview, challenge prompts with voice, ~15 fps JPEG frames.
   The browser only captures; the server issues the one-time challenge and decides everything.
   Loaded only on the camera page; settings and texts come from data- attributes on #capture. */
(function () {
  "use strict";
  var root = document.getElementById("capture");
  if (!root) {
    return;
  }
  var noJs = document.getElementById("capture-no-js");
  var heading = document.getElementById("capture-heading");
  var video = document.getElementById("capture-video");
  var prompt = document.getElementById("capture-prompt");
  var status = document.getElementById("capture-status");
  var problem = document.getElementById("capture-problem");
  var cameraButton = document.getElementById("capture-camera");
  var startButton = document.getElementById("capture-start");
  var form = document.getElementById("capture-form");
  var width = 640;
  var height = 480;
  var fps = Number(root.getAttribute("data-fps")) || 15;
  var maxFrames = Number(root.getAttribute("data-max-frames")) || 180;
  var leadMs = Number(root.getAttribute("data-lead-seconds")) * 1000;
  var stepMs = Number(root.getAttribute("data-step-seconds")) * 1000;
  var stream = null;

  noJs.hidden = true;
  root.hidden = false;

  function text(kind, key) {
    var item = document.querySelector("#capture-texts [data-" + kind + '="' + key + '"]');
    return item ? item.textContent : "";
  }

  function audioUrl(key) {
    var item = document.querySelector('#capture-texts [data-prompt="' + key + '"]');
    return item ? item.getAttribute("data-audio") : null;
  }

  function say(key) {
    prompt.textContent = text("prompt", key);
    var url = audioUrl(key);
    if (url && window.Audio) {
      var sound = new window.Audio(url);
      var playing = sound.play();
      if (playing && playing.catch) {
        playing.catch(function () { /* no sound allowed: the words are on screen */ });
      }
    }
  }

  function setHeading(key) {
    var words = key ? heading.getAttribute("data-" + key) : null;
    if (words) {
      heading.textContent = words;
      document.title = words + root.getAttribute("data-title-suffix");
    }
  }

  function stopCamera() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
    }
  }

  function showProblem(key, titleKey) {
    stopCamera();
    prompt.textContent = "";
    status.textContent = "";
    document.getElementById("capture-problem-title").textContent = text("message", titleKey || "problem-title");
    document.getElementById("capture-problem-text").textContent = text("message", key);
    problem.hidden = false;
    problem.focus();
    cameraButton.hidden = true;
    startButton.hidden = true;
  }

  function cameraProblem(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "denied";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
      return "no-camera";
    }
    if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
      return "busy";
    }
    return "no-support";
  }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.fetch || !window.FormData) {
    showProblem("no-support");
    return;
  }

  cameraButton.addEventListener("click", function () {
    cameraButton.disabled = true;
    navigator.mediaDevices
      .getUserMedia({ audio: false, video: { width: { ideal: width }, height: { ideal: height }, facingMode: "user" } })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        cameraButton.hidden = true;
        startButton.hidden = false;
        status.textContent = text("message", "preview");
        startButton.focus();
      }, function (error) {
        showProblem(cameraProblem(error));
      });
  });

  function post(url, body) {
    return window.fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      return response.json().catch(function () {
        throw new Error("not json");
      });
    });
  }

  function follow(answer) {
    if (answer && answer.redirect) {
      window.location.assign(answer.redirect);
      return true;
    }
    return false;
  }

  function tokenForm() {
    var body = new FormData();
    body.append("csrf_token", form.querySelector('input[name="csrf_token"]').value);
    return body;
  }

  /* Grabs frames from the video at `fps` into JPEG blobs until stop() is called or maxFrames is reached. */
  function recorder() {
    var canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d");
    var frames = [];
    var taken = 0;
    var pending = 0;
    var timer = window.setInterval(grab, 1000 / fps);
    var finished = null;

    function grab() {
      if (taken >= maxFrames || video.readyState < 2) {
        return;
      }
      context.drawImage(video, 0, 0, width, height);
      var index = taken;
      taken += 1;
      pending += 1;
      canvas.toBlob(function (blob) {
        pending -= 1;
        if (blob) {
          frames[index] = blob;
        }
        if (finished && pending === 0) {
          finished(frames.filter(Boolean));
        }
      }, "image/jpeg", 0.8);
    }

    return {
      stop: function () {
        window.clearInterval(timer);
        return new Promise(function (resolve) {
          if (pending === 0) {
            resolve(frames.filter(Boolean));
          } else {
            finished = resolve;
          }
        });
      }
    };
  }

  function wait(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  function runSteps(steps) {
    // Every step must fit in the frames the server accepts, however many steps it asked for.
    var perStep = Math.min(stepMs, (maxFrames / fps * 1000 - 2 * leadMs) / steps.length);
    var chain = Promise.resolve().then(function () {
      say("look");
      return wait(leadMs);
    });
    steps.forEach(function (step) {
      chain = chain.then(function () {
        say(step);
        return wait(perStep);
      });
    });
    return chain.then(function () {
      say("look");
      return wait(leadMs);
    });
  }

  function send(nonce, frames) {
    var body = tokenForm();
    body.append("nonce", nonce);
    frames.forEach(function (blob, index) {
      body.append("frame", blob, "frame-" + String(index).padStart(3, "0") + ".jpg");
    });
    return post(root.getAttribute("data-frames-url"), body);
  }

  startButton.addEventListener("click", function () {
    startButton.hidden = true;
    status.textContent = text("message", "starting");
    post(root.getAttribute("data-challenge-url"), tokenForm())
      .then(function (challenge) {
        if (follow(challenge)) {
          return null;
        }
        setHeading("actions");
        status.textContent = "";
        heading.focus();
        var frames = recorder();
        return runSteps(challenge.steps)
          .then(function () { return frames.stop(); })
          .then(function (captured) {
            stopCamera();
            setHeading("checking");
            say("checking");
            status.textContent = text("message", "sending");
            return send(challenge.nonce, captured);
          })
          .then(function (answer) {
            if (!follow(answer)) {
              throw new Error("no answer");
            }
          });
      })
      .catch(function () {
        showProblem("network", "failed-title");
      });
  });
})();
