// Keys for /review/one, and the next item fetched ahead. The page works without this
// file: each key stands for a button or form on the page. With it, a decision is sent
// in the background and the next item, already claimed and drawn by the server while
// the reviewer looked at the current one, is shown at once. A file rather than an
// inline script, so the Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";

  var current = document.getElementById("one-current");
  var template = document.getElementById("one-next");
  var status = document.getElementById("one-status");
  var undoForm = document.getElementById("undo-form");
  var help = document.getElementById("keys-help");
  if (!current || !template || !undoForm) return;

  var here = current.dataset.here || "";
  var skipped = (current.dataset.skipped || "").split(" ").filter(Boolean);
  var lastDecided = undoForm.elements.review_id.value || null;
  var queue = Promise.resolve(); // requests go one after another, in order
  var ahead = null; // a Promise of the next item's element
  var leaving = false; // a decision waits for the next item: a second key press is not another

  function item() {
    return current.querySelector(".one-item");
  }

  function parse(html) {
    var box = document.createElement("div");
    box.innerHTML = html;
    return box.querySelector(".one-item");
  }

  function say(text, isError) {
    status.textContent = text;
    status.hidden = !text;
    status.classList.toggle("error", !!isError);
  }

  function setAhead(promise) {
    current.dataset.next = "loading";
    ahead = promise
      .then(function (el) {
        if (!el) throw new Error("no item in the answer");
        return el;
      })
      .catch(function (error) {
        say("Could not fetch the next item (" + error.message + "): reload the page.", true);
        return parse('<section class="card one-item empty" data-review-id="">Reload the page.</section>');
      })
      .then(function (el) {
        current.dataset.next = "ready";
        return el;
      });
  }

  function show(el) {
    if (document.activeElement && current.contains(document.activeElement)) {
      document.activeElement.blur();
    }
    current.replaceChildren(el);
    window.scrollTo(0, 0);
  }

  function send(url, body) {
    // One request at a time: a decision reaches the server before the item after it
    // is asked for, so the server never hands back an item already decided.
    var sent = queue.then(function () {
      return fetch(url, {
        method: body ? "POST" : "GET",
        body: body,
        credentials: "same-origin",
        headers: { "X-Review-Fragment": "1" },
      }).then(function (response) {
        return response.text().then(function (text) {
          if (response.ok) return text;
          var doc = new DOMParser().parseFromString(text, "text/html");
          var main = doc.querySelector("main");
          throw new Error((main ? main.textContent : text).replace(/\s+/g, " ").trim());
        });
      });
    });
    queue = sent.catch(function () {});
    return sent;
  }

  function nextAfter(showing) {
    var params = new URLSearchParams({ back: here, showing: showing });
    skipped.forEach(function (s) {
      params.append("skipped", s);
    });
    return send("/review/one/next?" + params.toString()).then(parse);
  }

  function formData(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    data.delete("skipped");
    skipped.forEach(function (s) {
      data.append("skipped", s);
    });
    return data;
  }

  // -- the item's forms --------------------------------------------------------
  function leave(form, submitter, kind) {
    if (leaving) return;
    leaving = true;
    var id = item().dataset.reviewId;
    var data = formData(form, submitter);
    if (kind === "skip") skipped = skipped.concat([id]).slice(-50);
    ahead.then(function (el) {
      leaving = false;
      show(el);
      var showing = el.dataset.reviewId || "";
      data.append("showing", showing);
      var fetched = send(form.action, data).then(parse);
      fetched.then(
        function () {
          if (kind === "decide") {
            lastDecided = id;
            undoForm.elements.review_id.value = id;
            undoForm.hidden = false;
            say("Decision saved for item " + id + ".");
          } else {
            say("Skipped item " + id + ".");
          }
        },
        function (error) {
          say(error.message, true);
        }
      );
      setAhead(
        fetched.then(
          function (next) {
            if (!showing && next.dataset.reviewId) {
              show(next); // the queue was empty a moment ago; it is not any more
              return nextAfter(next.dataset.reviewId);
            }
            return next;
          },
          function () {
            return nextAfter(showing);
          }
        )
      );
    });
  }

  function flag(form, submitter) {
    send(form.action, formData(form, submitter)).then(
      function (text) {
        form.reset();
        form.closest("details").open = false;
        if (form.contains(document.activeElement)) document.activeElement.blur();
        say(text);
      },
      function (error) {
        say(error.message, true);
      }
    );
  }

  function undo() {
    if (!lastDecided) {
      say("There is no decision to undo.", true);
      return;
    }
    var data = formData(undoForm, null);
    data.set("review_id", lastDecided);
    var id = lastDecided;
    lastDecided = null;
    undoForm.hidden = true;
    send(undoForm.action, data).then(
      function (html) {
        var was = item();
        var back = parse(html);
        setAhead(Promise.resolve(was)); // the item on screen comes after it again
        show(back);
        say("Decision on item " + id + " undone: decide it again.");
      },
      function (error) {
        say(error.message, true);
      }
    );
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var kind = form.dataset.kind;
    if (!kind || !(current.contains(form) || form === undoForm)) return;
    event.preventDefault();
    if (kind === "undo") undo();
    else if (kind === "flag") flag(form, event.submitter);
    else leave(form, event.submitter, kind);
  });

  // -- type to filter the labels -----------------------------------------------
  function visibleChoices(el) {
    return Array.prototype.filter.call(el.querySelectorAll("button.choice"), function (b) {
      return !b.parentElement.hidden;
    });
  }

  function openFilter(el) {
    var input = el.querySelector(".label-filter");
    if (!input) return false;
    input.closest(".label-filter-row").hidden = false;
    input.focus();
    return true;
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("label-filter")) return;
    var typed = input.value.trim().toLowerCase();
    var el = input.closest(".one-item");
    el.querySelectorAll("button.choice").forEach(function (b) {
      var text = b.value.toLowerCase();
      b.parentElement.hidden = typed !== "" && text.indexOf(typed) === -1;
    });
    // An exact match first, so typing "1" picks label "1", not "10".
    var exact = el.querySelector('button.choice[value="' + CSS.escape(input.value.trim()) + '"]');
    el.querySelectorAll("button.choice").forEach(function (b) {
      b.classList.toggle("first-match", b === (exact || visibleChoices(el)[0]));
    });
  });

  function filterKey(event, input) {
    var el = input.closest(".one-item");
    if (event.key === "Enter") {
      event.preventDefault();
      var pick = el.querySelector("button.choice.first-match");
      if (pick && !pick.parentElement.hidden) pick.form.requestSubmit(pick);
    } else if (event.key === "Escape") {
      input.value = "";
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.closest(".label-filter-row").hidden = true;
      input.blur();
    }
  }

  // -- keys --------------------------------------------------------------------
  function openPanel(el, selector) {
    var panel = el.querySelector(selector);
    panel.open = true;
    panel.querySelector("input[type=text]").focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      if (target.classList.contains("label-filter")) {
        filterKey(event, target);
      } else if (event.key === "Escape") {
        var panel = target.closest("details");
        if (panel) panel.open = false;
        target.blur();
      }
      return; // typing: keys are letters, not commands
    }
    var key = event.key;
    if (key === "?") {
      help.open = !help.open;
      event.preventDefault();
      return;
    }
    if (key === "u") {
      undo();
      event.preventDefault();
      return;
    }
    var el = item();
    if (!el || !el.dataset.reviewId) return;
    var button = null;
    if (key >= "1" && key <= "9") {
      button = el.querySelector('button.choice[data-key="' + key + '"]');
    } else if (key === "Enter") {
      button = el.querySelector("button.accept");
    } else if (key === "s") {
      openPanel(el, "details.skip");
    } else if (key === "f") {
      openPanel(el, "details.flag");
    } else if (key === "/") {
      if (!openFilter(el)) return;
    } else {
      return;
    }
    event.preventDefault();
    if (button) button.form.requestSubmit(button);
  });

  setAhead(Promise.resolve(document.importNode(template.content, true).querySelector(".one-item")));
})();
