// Forms inside [data-in-place] post through htmx and swap the page's answer in place. When
// htmx cannot show that answer, do what a plain post would: an error status (403, 500) or a
// lost connection posts the form normally (the browser then shows the error page), and an
// answer from another page (the login page after the session ended) reloads this one.
(function () {
  function inPlaceForm(event) {
    // the form that sent the request (detail.elt is the swap target in htmx:beforeSwap)
    var config = event.detail.requestConfig;
    var elt = config ? config.elt : event.detail.elt;
    return elt instanceof HTMLFormElement && elt.closest("[data-in-place]") ? elt : null;
  }
  function postNormally(event) {
    var form = inPlaceForm(event);
    if (form) HTMLFormElement.prototype.submit.call(form);
  }
  document.addEventListener("htmx:responseError", postNormally);
  document.addEventListener("htmx:sendError", postNormally);
  document.addEventListener("htmx:beforeSwap", function (event) {
    var answered = event.detail.xhr && event.detail.xhr.responseURL;
    if (inPlaceForm(event) && answered && new URL(answered).pathname !== window.location.pathname) {
      event.detail.shouldSwap = false;
      window.location.reload();
    }
  });
})();
