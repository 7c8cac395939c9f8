// Schedule form: show only the repeat fields that the chosen pattern uses.
(function () {
  "use strict";
  var FIELDS = ["interval", "weekday", "ordinal", "month_day", "count", "until"];
  var SHOWN = {
    none: [],
    weekly: ["interval", "weekday", "count", "until"],
    monthly_weekday: ["interval", "weekday", "ordinal", "count", "until"],
    monthly_date: ["interval", "month_day", "count", "until"]
  };
  function update(repeat) {
    var wanted = SHOWN[repeat.value] || FIELDS;
    FIELDS.forEach(function (id) {
      var input = document.getElementById(id);
      var wrapper = input && input.closest(".field");
      if (wrapper) { wrapper.hidden = wanted.indexOf(id) === -1; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var repeat = document.getElementById("repeat");
    if (!repeat) { return; }
    repeat.addEventListener("change", function () { update(repeat); });
    update(repeat);
  });
})();
