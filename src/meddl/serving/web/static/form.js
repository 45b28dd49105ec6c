/* Live hint when a number lies outside the model's training range (the server checks it again). */
document.querySelectorAll("input[data-min][data-max]").forEach(function (input) {
  var note = document.getElementById(input.id + "-live");
  function check() {
    var value = parseFloat(input.value), low = parseFloat(input.dataset.min), high = parseFloat(input.dataset.max);
    var outside = input.value.trim() !== "" && !isNaN(value) && (value < low || value > high);
    note.textContent = outside ? "Outside the training range (" + input.dataset.min + " to " + input.dataset.max + ")." : "";
  }
  input.addEventListener("input", check);
  check();
});
