// The Print button of printable documents (templates/documents/base.html): hidden until
// this script shows it, since printing needs a script (the CSP forbids inline handlers).
document.querySelectorAll("button[data-print][hidden]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});
