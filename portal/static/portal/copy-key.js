// Shows the Copy buttons of the site key page and copies the key to the clipboard on click.
// Without JavaScript the buttons stay hidden and the key can be selected and copied by hand.
(function () {
  "use strict";

  function showStatus(button, text) {
    var status = button.parentElement.querySelector("[data-copy-status]");
    if (status) {
      status.textContent = text;
    }
  }

  function copyFrom(field, button) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { showStatus(button, "Copied."); },
        function () { showStatus(button, "Copying failed. Select the key and copy it by hand."); }
      );
      return;
    }
    // Browsers without the Clipboard API, or pages served over plain HTTP.
    field.focus();
    field.select();
    var copied = document.execCommand && document.execCommand("copy");
    showStatus(button, copied ? "Copied." : "Copying failed. Select the key and copy it by hand.");
  }

  document.querySelectorAll("button[data-copy-target]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () { copyFrom(field, button); });
  });
})();
