// Submits the form_post response (OAuth 2.0 Form Post Response Mode) at once.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("form-post");
  if (form) { form.submit(); }
});
