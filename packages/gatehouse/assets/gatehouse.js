// Gatehouse pages work without this file. With it: a confirmation before destructive buttons, the first
// invalid field focused, and a new API key selected for copying. It has no words of its own: a button's
// confirmation is its data-confirm attribute, which the page renders in its language.
'use strict';
document.addEventListener('submit', function (event) {
  var button = event.submitter;
  var message = button && button.getAttribute('data-confirm');
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener('DOMContentLoaded', function () {
  var invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid) invalid.focus();
  var secret = document.getElementById('new-secret');
  if (secret) secret.select();
});
