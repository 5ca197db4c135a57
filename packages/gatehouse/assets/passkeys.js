// Passkeys on the Gatehouse pages, through @simplewebauthn/browser (served beside this file, loaded before it).
// Every passkey part of a page is rendered `hidden` and shown only here, when the browser has WebAuthn: without
// JavaScript the pages show no passkey button and everything else works as plain forms.
//   [data-passkey-login]        /login: "Sign in with a passkey", and passkeys offered in the e-mail field's autofill
//   [data-passkey-second-step]  the sign-in's second step: "Use a passkey" for the ticket in its form
//   [data-passkey-reauth]       "Confirm it's you": "Confirm with a passkey"
//   [data-passkey-register]     /account: "Add a passkey"
// The JSON API is called in session mode; writes authenticated by the session cookie carry X-CSRF-Token.
// Messages: this file has only English fallbacks. The page renders each box's messages in its language as
// data-msg-* attributes (src/http/pages/passkey-messages.ts): data-msg-cancelled, -exists, -rejected, -failed,
// and data-msg-<error code with "-" for "_"> for the API's refusals (its JSON stays English).
'use strict';
(function () {
  var lib = window.SimpleWebAuthnBrowser;
  if (!lib || !lib.browserSupportsWebAuthn()) return;
  // A relying party id must be a domain: at an IP address (http://127.0.0.1:3000) no passkey can work, so none
  // is offered. Use localhost, or PUBLIC_URL's host name.
  if (/^\d+\.\d+\.\d+\.\d+$|^\[|:/.test(location.hostname)) return;

  function call(method, path, body, csrf) {
    var headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (csrf) headers['x-csrf-token'] = csrf;
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' }).then(function (res) {
      if (res.status === 204) return { ok: true, status: 204, body: null };
      return res.json().then(
        function (json) { return { ok: res.ok, status: res.status, body: json }; },
        function () { return { ok: res.ok, status: res.status, body: null }; },
      );
    });
  }

  function csrfToken() {
    return call('GET', '/auth/csrf').then(function (answer) {
      if (!answer.ok) throw failure(answer);
      return answer.body.csrfToken;
    });
  }

  /** A refusal as an Error carrying the contract's code and message (empty when the answer had none). */
  function failure(answer) {
    var error = (answer.body && answer.body.error) || {};
    var err = new Error(error.message || '');
    err.code = error.code || 'http_' + answer.status;
    return err;
  }

  /** The person closed the browser's dialog, it timed out, or another ceremony replaced this one. */
  function cancelled(err) {
    return err && (err.name === 'NotAllowedError' || err.name === 'AbortError' || err.code === 'ERROR_CEREMONY_ABORTED');
  }

  function say(box, message) {
    var p = box.querySelector('[data-passkey-error]');
    if (!p) return;
    p.textContent = message || '';
    p.hidden = !message;
  }

  /** The page's message `name` for this box (in the page's language), or the English one given here. */
  function text(box, name, english) {
    var value = box.getAttribute('data-msg-' + name);
    return value === null ? english : value;
  }

  function explain(box, err, what) {
    if (cancelled(err)) return text(box, 'cancelled', what + ' was cancelled or timed out. You can try again.');
    if (err && err.name === 'InvalidStateError') return text(box, 'exists', 'This passkey is registered already.');
    if (err && err.code === 'invalid_webauthn_response') return text(box, 'rejected', 'That passkey was not accepted here. Try another, or sign in another way.');
    var byCode = err && typeof err.code === 'string' ? box.getAttribute('data-msg-' + err.code.replace(/_/g, '-')) : null;
    return byCode || (err && err.message) || text(box, 'failed', 'Something went wrong; try again.');
  }

  /** Only our own pages: the server put the value there, but never follow anything else. */
  function ownPath(raw, fallback) {
    return typeof raw === 'string' && raw.charAt(0) === '/' && raw.charAt(1) !== '/' && raw.charAt(1) !== '\\' ? raw : fallback;
  }

  function postForm(action, fields) {
    var form = document.createElement('form');
    form.method = 'post';
    form.action = action;
    Object.keys(fields).forEach(function (name) {
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = fields[name];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  function reloadAt(hash) {
    if (location.pathname === '/account') {
      location.hash = hash;
      location.reload();
    } else {
      location.assign('/account#' + hash);
    }
  }

  // --- /login: sign in with a passkey (usernameless), from the button or the e-mail field's autofill ---
  var login = document.querySelector('[data-passkey-login]');
  if (login) {
    var loginButton = login.querySelector('button');
    var returnTo = ownPath(login.getAttribute('data-return-to'), '/account');
    var loginCsrf = login.getAttribute('data-csrf') || '';
    var busy = false;

    var emailField = document.querySelector('form[action="/login"] input[name="email"]');
    // The button uses the address typed above, if any: then the account's passkeys are asked for by id, which
    // also works with security keys that keep no discoverable credential (or cannot verify the user). Without
    // one, and from the autofill, it is usernameless: the browser offers the passkeys it holds for this site.
    var signIn = function (autofill) {
      var email = !autofill && emailField && emailField.value.trim();
      return call('POST', '/auth/passkeys/login/options', email && emailField.checkValidity() ? { email: email } : {})
        .then(function (answer) {
          if (!answer.ok) throw failure(answer);
          return lib.startAuthentication({ optionsJSON: answer.body, useBrowserAutofill: autofill });
        })
        .then(function (response) {
          busy = true;
          return call('POST', '/auth/passkeys/login', { response: response, mode: 'session' });
        })
        .then(function (answer) {
          if (!answer.ok) throw failure(answer);
          if (answer.body && answer.body.mfaRequired) {
            // The passkey did not verify the user (no PIN or biometrics): the second step, as after a password.
            // The ticket travels in a form POST, never in a URL.
            postForm('/login/passkey', { _csrf: loginCsrf, mfa_ticket: answer.body.mfaTicket, redirect_to: returnTo });
            return;
          }
          location.assign(returnTo);
        })
        .catch(function (err) {
          busy = false;
          throw err;
        });
    };

    var autofill = function () {
      if (!lib.browserSupportsWebAuthnAutofill) return;
      lib.browserSupportsWebAuthnAutofill().then(function (supported) {
        if (!supported || !document.querySelector('input[autocomplete~="webauthn"]')) return;
        // Runs until a passkey is picked from the field's suggestions, or the button's ceremony replaces it.
        signIn(true).catch(function (err) {
          if (!cancelled(err)) say(login, explain(login, err, 'Signing in with a passkey'));
        });
      });
    };

    login.hidden = false;
    loginButton.addEventListener('click', function () {
      if (busy) return;
      say(login, '');
      loginButton.disabled = true;
      signIn(false)
        .catch(function (err) {
          say(login, explain(login, err, 'Signing in with a passkey'));
          autofill();
        })
        .then(function () {
          loginButton.disabled = false;
        });
    });
    autofill();
  }

  // --- the sign-in's second step: a passkey for the ticket in the page's form ---
  var second = document.querySelector('[data-passkey-second-step]');
  if (second) {
    var secondButton = second.querySelector('button');
    second.hidden = false;
    secondButton.addEventListener('click', function () {
      var ticket = second.getAttribute('data-ticket') || '';
      var target = ownPath(second.getAttribute('data-return-to'), '/account');
      say(second, '');
      secondButton.disabled = true;
      call('POST', '/auth/mfa/webauthn/options', { mfaTicket: ticket })
        .then(function (answer) {
          if (!answer.ok) throw failure(answer);
          return lib.startAuthentication({ optionsJSON: answer.body });
        })
        .then(function (response) {
          return call('POST', '/auth/mfa/verify', { mfaTicket: ticket, webauthn: response, mode: 'session' });
        })
        .then(function (answer) {
          if (!answer.ok) throw failure(answer);
          location.assign(target);
        })
        .catch(function (err) {
          if (err && err.code === 'invalid_mfa_ticket') {
            location.assign('/login');
            return;
          }
          say(second, explain(second, err, 'Using a passkey'));
          secondButton.disabled = false;
        });
    });
  }

  // --- "Confirm it's you" with a passkey ---
  var reauth = document.querySelector('[data-passkey-reauth]');
  if (reauth) {
    var reauthButton = reauth.querySelector('button');
    reauth.hidden = false;
    reauthButton.addEventListener('click', function () {
      var target = ownPath(reauth.getAttribute('data-return-to'), '/account');
      var csrf;
      say(reauth, '');
      reauthButton.disabled = true;
      csrfToken()
        .then(function (token) {
          csrf = token;
          return call('POST', '/auth/reauthenticate/webauthn/options', {}, csrf);
        })
        .then(function (answer) {
          if (!answer.ok) throw failure(answer);
          return lib.startAuthentication({ optionsJSON: answer.body });
        })
        .then(function (response) {
          return call('POST', '/auth/reauthenticate', { webauthn: response }, csrf);
        })
        .then(function (answer) {
          if (!answer.ok) throw failure(answer);
          location.assign(target);
        })
        .catch(function (err) {
          say(reauth, explain(reauth, err, 'Confirming with a passkey'));
          reauthButton.disabled = false;
        });
    });
  }

  // --- /account: add a passkey ---
  var register = document.querySelector('[data-passkey-register]');
  if (register) {
    var registerButton = register.querySelector('button[data-passkey-add]');
    var nameInput = register.querySelector('input[name="passkey_name"]');
    var done = register.querySelector('[data-passkey-done]');
    register.hidden = false;
    var noScript = document.querySelector('[data-passkey-needs-script]');
    if (noScript) noScript.hidden = true;
    registerButton.addEventListener('click', function () {
      var csrf;
      say(register, '');
      registerButton.disabled = true;
      csrfToken()
        .then(function (token) {
          csrf = token;
          return call('POST', '/auth/passkeys/register/options', {}, csrf);
        })
        .then(function (answer) {
          if (!answer.ok) throw failure(answer);
          return lib.startRegistration({ optionsJSON: answer.body });
        })
        .then(function (response) {
          var name = nameInput && nameInput.value.trim();
          return call('POST', '/auth/passkeys/register', name ? { response: response, name: name } : { response: response }, csrf);
        })
        .then(function (answer) {
          if (!answer.ok) throw failure(answer);
          var codes = answer.body && answer.body.recoveryCodes;
          if (!codes || !codes.length || !done) {
            reloadAt('passkeys');
            return;
          }
          // The account's first factor: its recovery codes, shown once, before the page is reloaded.
          var list = done.querySelector('ul');
          codes.forEach(function (code) {
            var li = document.createElement('li');
            var c = document.createElement('code');
            c.textContent = code;
            li.appendChild(c);
            list.appendChild(li);
          });
          done.querySelector('[data-passkey-name]').textContent = answer.body.name;
          done.hidden = false;
          registerButton.hidden = true;
          done.querySelector('button').addEventListener('click', function () {
            reloadAt('passkeys');
          });
          done.querySelector('button').focus();
        })
        .catch(function (err) {
          if (err && err.code === 'reauthentication_required') {
            // Adding a passkey needs a recent sign-in: confirm it's you, then come back here.
            location.assign('/account/reauthenticate?return_to=' + encodeURIComponent('/account#passkeys'));
            return;
          }
          say(register, explain(register, err, 'Adding a passkey'));
          registerButton.disabled = false;
        });
    });
  }
})();
