// The segment rule builder: edits the rules ({match, rules: [condition | group]}) as nested
// groups of conditions, writes them into the form's JSON field, and asks the server how many
// customers match as they change. The server validates again on save; this only helps to write
// rules that are valid. Without JavaScript the JSON field is edited directly.
(function () {
  "use strict";

  const root = document.getElementById("rule-builder");
  if (!root) return;
  const vocabulary = JSON.parse(document.getElementById(root.dataset.vocabulary).textContent);
  const text = JSON.parse(document.getElementById(root.dataset.text).textContent);
  const form = document.getElementById("segment-form");
  const field = form.querySelector("textarea[name=rules]");
  const counter = document.getElementById("segment-count");
  const countUrl = document.getElementById("count-endpoint").dataset.url;
  const section = document.getElementById("rules-section");
  const channel = form.querySelector("select[name=marketing_channel]");
  const fields = Object.fromEntries(vocabulary.fields.map((f) => [f.name, f]));

  let rules = parse(field.value) || { match: "all", rules: [] };
  let timer = null;
  let pending = null;

  function parse(raw) {
    try {
      const value = JSON.parse(raw);
      return value && Array.isArray(value.rules) ? value : null;
    } catch (error) {
      return null;
    }
  }

  function element(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else if (key === "on") Object.entries(value).forEach(([event, handler]) => node.addEventListener(event, handler));
      else node.setAttribute(key, value);
    });
    (children || []).forEach((child) => child && node.append(child));
    return node;
  }

  function select(label, options, current, onChange, extraClass) {
    const node = element("select", { class: "form-select form-select-sm " + (extraClass || ""), "aria-label": label });
    options.forEach(([value, name]) => {
      const option = element("option", { value: String(value), text: name });
      if (String(value) === String(current)) option.selected = true;
      node.append(option);
    });
    node.addEventListener("change", () => onChange(node.value));
    return node;
  }

  function input(label, type, current, onChange, attributes) {
    const node = element("input", Object.assign({ class: "form-control form-control-sm", type: type, "aria-label": label }, attributes || {}));
    node.value = current === undefined || current === null ? "" : current;
    node.addEventListener("input", () => onChange(node.value));
    return node;
  }

  // A typed number as a number; anything else (1.5 where whole numbers are meant, say) is
  // kept as typed, so that the server says what is wrong instead of the builder rounding.
  function number(raw, integer) {
    if (raw === "") return "";
    const value = Number(raw);
    return Number.isFinite(value) && (!integer || Number.isInteger(value)) ? value : raw;
  }

  function defaultValue(definition, operator) {
    const kind = definition.kind;
    if (["is_empty", "is_not_empty"].includes(operator)) return null;
    if (kind === "choice" || kind === "consent" || kind === "choices") {
      const first = definition.choices[0] ? definition.choices[0][0] : "";
      return operator === "in" ? [first] : first;
    }
    if (kind === "text") return operator === "in" ? [] : "";
    if (kind === "boolean") return true;
    if (kind === "tag") return vocabulary.tags.length ? vocabulary.tags[0][0] : null;
    if (["purchase", "interaction", "open_deal", "closed_deal"].includes(kind)) return {};
    if (operator === "between") return ["", ""];
    return "";
  }

  function newCondition() {
    const definition = vocabulary.fields[0];
    const operator = vocabulary.operators[definition.kind][0][0];
    return { field: definition.name, operator: operator, value: defaultValue(definition, operator) };
  }

  // The places customers have (most common first) as a datalist for a place field's input,
  // built once beside the builder: re-rendering the rules does not rebuild it.
  function suggestions(definition) {
    const places = vocabulary.places[definition.name];
    if (!places || !places.length) return {};
    const id = "rule-builder-" + definition.name + "-suggestions";
    if (!document.getElementById(id)) {
      const list = element("datalist", { id: id });
      places.forEach((place) => list.append(element("option", { value: place })));
      root.after(list);
    }
    return { list: id };
  }

  // The value controls of one condition; `set` stores a new value and re-counts.
  function valueControls(condition, definition, set) {
    const kind = definition.kind;
    const operator = condition.operator;
    const value = condition.value;
    if (["is_empty", "is_not_empty"].includes(operator)) return [];
    if (kind === "choice") {
      if (operator === "in") {
        const node = element("select", { class: "form-select form-select-sm", multiple: "multiple", size: "3", "aria-label": text.value });
        definition.choices.forEach(([choice, name]) => {
          const option = element("option", { value: choice, text: name });
          option.selected = (value || []).includes(choice);
          node.append(option);
        });
        node.addEventListener("change", () => set(Array.from(node.selectedOptions).map((o) => o.value)));
        return [node];
      }
      return [select(text.value, definition.choices, value, set)];
    }
    // One choice a consent or a custom field of several choices holds (or does not).
    if (kind === "consent" || kind === "choices") return [select(text.value, definition.choices, value, set)];
    if (kind === "text") {
      if (operator === "in") {
        return [input(text.value, "text", (value || []).join(", "), (raw) => set(raw.split(",").map((s) => s.trim()).filter(Boolean)), { placeholder: text.comma })];
      }
      return [input(text.value, "text", value, set, suggestions(definition))];
    }
    if (kind === "boolean") return [select(text.value, [["true", text.yes], ["false", text.no]], String(value), (raw) => set(raw === "true"))];
    if (kind === "tag") return [select(text.value, vocabulary.tags, value, (raw) => set(parseInt(raw, 10)))];
    if (kind === "number" || kind === "date") {
      const type = kind === "date" && operator !== "within_days" ? "date" : "number";
      const convert = (raw) => (type === "number" ? number(raw, definition.integer || operator === "within_days") : raw);
      if (operator === "between") {
        const pair = Array.isArray(value) ? value.slice() : ["", ""];
        return [
          input(text.value, type, pair[0], (raw) => { pair[0] = convert(raw); set(pair.slice()); }),
          element("span", { class: "small", text: text.and }),
          input(text.value, type, pair[1], (raw) => { pair[1] = convert(raw); set(pair.slice()); }),
        ];
      }
      const controls = [input(text.value, type, value, (raw) => set(convert(raw)))];
      if (operator === "within_days") controls.push(element("span", { class: "small", text: text.days }));
      return controls;
    }
    if (["purchase", "interaction", "open_deal", "closed_deal"].includes(kind)) {
      const options = Object.assign({}, value || {});
      const change = (key, raw) => {
        if (raw === "" || raw === null) delete options[key];
        else options[key] = raw;
        set(Object.assign({}, options));
      };
      const controls = [];
      // An open deal in one stage (any open stage by default): no period.
      if (kind === "open_deal") {
        return [select(text.value, [["", text.any_stage]].concat(vocabulary.open_stages), options.stage || "", (raw) => change("stage", raw === "" ? "" : parseInt(raw, 10)))];
      }
      if (kind === "purchase") {
        controls.push(select(text.value, [["", text.any_category]].concat(vocabulary.categories.map((c) => [c, c])), options.category || "", (raw) => change("category", raw)));
        controls.push(input(text.sku, "text", options.sku, (raw) => change("sku", raw.trim()), { placeholder: text.sku, size: "8" }));
        controls.push(input(text.min_amount, "number", options.min_amount, (raw) => change("min_amount", number(raw, false)), { placeholder: text.min_amount, min: "0", step: "0.01" }));
      } else if (kind === "interaction") {
        controls.push(select(text.value, [["", text.any_kind]].concat(vocabulary.interaction_kinds), options.kind || "", (raw) => change("kind", raw)));
      }
      controls.push(element("span", { class: "small", text: text.since }));
      controls.push(input(text.since, "date", options.since, (raw) => change("since", raw)));
      controls.push(element("span", { class: "small", text: text.until }));
      controls.push(input(text.until, "date", options.until, (raw) => change("until", raw)));
      if (kind === "closed_deal") {
        controls.push(element("span", { class: "small", text: text.in_the_last }));
        controls.push(input(text.days, "number", options.days, (raw) => change("days", number(raw, true)), { min: "0", step: "1", size: "4" }));
        controls.push(element("span", { class: "small", text: text.days }));
      }
      return controls;
    }
    return [];
  }

  function fieldOptions(current) {
    const node = element("select", { class: "form-select form-select-sm w-auto", "aria-label": text.field });
    vocabulary.groups.forEach(([group, label]) => {
      const optgroup = element("optgroup", { label: label });
      vocabulary.fields.filter((f) => f.group === group).forEach((f) => {
        const option = element("option", { value: f.name, text: f.label });
        option.selected = f.name === current;
        optgroup.append(option);
      });
      node.append(optgroup);
    });
    return node;
  }

  function removeButton(siblings, index, extraClass) {
    return element("button", { type: "button", class: "btn btn-sm btn-link text-danger " + (extraClass || ""), "aria-label": text.remove, title: text.remove,
      on: { click: () => { siblings.splice(index, 1); changed(true); } } }, [element("i", { class: "bi bi-x-lg" })]);
  }

  // A condition typed into the JSON that the builder cannot show: said so, kept as it is
  // (the server names the problem), and removable.
  function renderUnknown(siblings, index) {
    return element("div", { class: "d-flex flex-wrap align-items-center gap-2 mb-2 condition" }, [
      element("span", { class: "small text-danger", text: text.unknown }),
      element("code", { class: "small", text: JSON.stringify(siblings[index]) }),
      removeButton(siblings, index),
    ]);
  }

  function renderCondition(condition, siblings, index) {
    const definition = condition && typeof condition === "object" ? fields[condition.field] : undefined;
    const known = definition && vocabulary.operators[definition.kind].some(([operator]) => operator === condition.operator);
    if (!known) return renderUnknown(siblings, index);
    const row = element("div", { class: "d-flex flex-wrap align-items-center gap-2 mb-2 condition" });
    const fieldSelect = fieldOptions(definition.name);
    fieldSelect.addEventListener("change", () => {
      const chosen = fields[fieldSelect.value];
      const operator = vocabulary.operators[chosen.kind][0][0];
      siblings[index] = { field: chosen.name, operator: operator, value: defaultValue(chosen, operator) };
      changed(true);
    });
    const operatorSelect = select(text.operator, vocabulary.operators[definition.kind], condition.operator, (operator) => {
      siblings[index] = { field: definition.name, operator: operator, value: defaultValue(definition, operator) };
      changed(true);
    }, "w-auto");
    const controls = valueControls(condition, definition, (value) => {
      condition.value = value;
      changed(false);
    });
    controls.forEach((control) => {
      if (control.tagName !== "SPAN") control.classList.add("w-auto");
    });
    [fieldSelect, operatorSelect].concat(controls).concat([removeButton(siblings, index)]).forEach((node) => row.append(node));
    if (condition.value === null || condition.value === undefined) delete condition.value;
    return row;
  }

  function renderGroup(group, depth, parent, index) {
    const box = element("div", { class: depth > 1 ? "border rounded p-2 mb-2 bg-body-tertiary group" : "group" });
    const header = element("div", { class: "d-flex flex-wrap align-items-center gap-2 mb-2" }, [
      element("span", { class: "small", text: text.match }),
      select(text.match, [["all", text.all], ["any", text.any]], group.match, (match) => { group.match = match; changed(false); }, "w-auto"),
    ]);
    if (parent) header.append(removeButton(parent, index, "ms-auto"));
    box.append(header);
    if (!group.rules.length && depth === 1) box.append(element("p", { class: "small text-body-secondary", text: text.empty }));
    group.rules.forEach((rule, position) => {
      box.append(rule && typeof rule === "object" && Array.isArray(rule.rules) ? renderGroup(rule, depth + 1, group.rules, position) : renderCondition(rule, group.rules, position));
    });
    const actions = element("div", { class: "d-flex gap-2" }, [
      element("button", { type: "button", class: "btn btn-sm btn-outline-primary", on: { click: () => { group.rules.push(newCondition()); changed(true); } } },
        [element("i", { class: "bi bi-plus-lg" }), document.createTextNode(" " + text.add_condition)]),
    ]);
    if (depth < vocabulary.max_depth) {
      actions.append(element("button", { type: "button", class: "btn btn-sm btn-outline-secondary", on: { click: () => { group.rules.push({ match: "any", rules: [newCondition()] }); changed(true); } } },
        [element("i", { class: "bi bi-diagram-2" }), document.createTextNode(" " + text.add_group)]));
    }
    box.append(actions);
    return box;
  }

  function render() {
    root.replaceChildren(renderGroup(rules, 1, null, 0));
  }

  // Only the answer to the latest rules is shown: an earlier request still on its way is
  // cancelled, so a slow count never overwrites a newer one.
  function count() {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(countUrl, {
        method: "POST",
        body: new URLSearchParams({ rules: field.value, marketing_channel: channel.value }),
        headers: { "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
        credentials: "same-origin",
        signal: pending.signal,
      })
        .then((response) => {
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        })
        .then((html) => { counter.innerHTML = html; })
        .catch((error) => {
          if (error.name !== "AbortError") counter.textContent = text.count_failed;
        });
    }, 350);
  }

  // Structure changes re-draw the builder; value edits keep the focus where it is.
  function changed(redraw) {
    field.value = JSON.stringify(rules, null, 1);
    if (redraw) render();
    count();
  }

  field.addEventListener("input", () => {
    const typed = parse(field.value);
    if (typed) {
      rules = typed;
      render();
    }
    count();
  });

  channel.addEventListener("change", count);

  function showRulesForKind() {
    const checked = form.querySelector("input[name=kind]:checked");
    section.hidden = checked && checked.value === "static";
  }
  form.querySelectorAll("input[name=kind]").forEach((radio) => radio.addEventListener("change", showRulesForKind));
  showRulesForKind();

  render();
  if (rules.rules.length) count();
})();
