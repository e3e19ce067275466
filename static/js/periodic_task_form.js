// The periodic task form: the chosen crontab in words under its field (django-celery-beat's inline script, moved here for the CSP).
"use strict";
(function ($) {
  const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
  const originalHelp = JSON.parse(document.getElementById("crontab-help").textContent);
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    const help = $(".field-crontab .help");
    help.text(originalHelp);
    help.append($("<br>"), document.createTextNode("Translation: " + readableCrontabs[$("#id_crontab").val()]));
  });
})(django.jQuery);
