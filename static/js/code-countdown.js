/* Counts down the seconds before a new verification code can be sent. The page already says how many
   seconds were left when it was made, so it works without this script. */
(function () {
  "use strict";
  var wait = document.getElementById("resend-wait");
  var counter = wait && wait.querySelector("[data-countdown-seconds]");
  if (!counter) {
    return;
  }
  var seconds = Number(counter.textContent);
  var ready = document.getElementById("resend-ready");
  var timer = window.setInterval(function () {
    seconds -= 1;
    if (seconds > 0) {
      counter.textContent = String(seconds);
      return;
    }
    window.clearInterval(timer);
    wait.textContent = wait.getAttribute("data-now-text");
    if (ready) {
      ready.textContent = wait.getAttribute("data-now-text");
    }
  }, 1000);
})();
