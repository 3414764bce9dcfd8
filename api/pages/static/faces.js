/* civicpulse faces: the ONE definition of the four smileys, drawn as inline SVG.
 *
 * Emoji need an emoji font, which a kiosk tablet or a city PC may lack (blank boxes). These
 * faces need nothing: a disc in the conventional colour with dark eyes and mouth.
 * Button 1 very unhappy (red), 2 unhappy (pink), 3 happy (light green), 4 very happy (dark green).
 *
 * Used three ways, all from this file:
 *  - the kiosk and the live pages load it as /faces.js (global `civicpulseFaces`);
 *  - the widget is one self-contained script embedded cross-origin, so the API pastes this file
 *    into widget.js where it says FACES_JS when serving it (api/pages.py), never a copy.
 */
var civicpulseFaces = (function () {
  "use strict";
  var COLORS = ["#d32f2f", "#f48fb1", "#9ccc65", "#2e7d32"];
  var INK = "#1a1a1a";
  // Mouths as quadratic curves from (30,70) to (70,70): control point below = smile.
  var MOUTHS = [
    "M28 74 Q50 50 72 74",
    "M32 72 Q50 60 68 72",
    "M32 64 Q50 78 68 64",
    "M26 60 Q50 92 74 60 Z"
  ];
  function svg(button, size) {
    var i = Math.min(4, Math.max(1, Number(button) || 1)) - 1;
    var s = size ? String(size) : "100%";
    var mouth = i === 3
      ? "<path d='" + MOUTHS[i] + "' fill='" + INK + "'/>"
      : "<path d='" + MOUTHS[i] + "' fill='none' stroke='" + INK + "' stroke-width='6' stroke-linecap='round'/>";
    var brows = i === 0
      ? "<path d='M26 30 L42 37 M74 30 L58 37' stroke='" + INK + "' stroke-width='5' stroke-linecap='round'/>"
      : "";
    return "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 100' width='" + s + "' height='" + s +
      "' aria-hidden='true' focusable='false' class='cp-face' data-face='" + (i + 1) + "'>" +
      "<circle cx='50' cy='50' r='46' fill='" + COLORS[i] + "' stroke='" + INK + "' stroke-width='3'/>" +
      brows +
      "<circle cx='35' cy='43' r='6.5' fill='" + INK + "'/><circle cx='65' cy='43' r='6.5' fill='" + INK + "'/>" +
      mouth + "</svg>";
  }
  // The face for a 0-100 score (live pages): the button whose value is nearest.
  function forScore(score) {
    if (score === null || score === undefined || isNaN(score)) return 0;
    return Math.min(4, Math.max(1, Math.round(score / (100 / 3)) + 1));
  }
  return { COLORS: COLORS, INK: INK, svg: svg, forScore: forScore };
})();
