/* Behaviour every page shares: the CSRF header on htmx requests, focus on form errors. */
(function () {
  'use strict';

  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute('content') : '';

  // htmx requests carry the CSRF token as a header (forms carry it as a field)
  document.addEventListener('htmx:configRequest', function (event) {
    if (token) {
      event.detail.headers['X-CSRF-Token'] = token;
    }
  });

  // after a form came back with errors, take keyboard and screen-reader users to the summary
  var summary = document.getElementById('error-summary');
  if (summary) {
    summary.focus();
  }
}());
