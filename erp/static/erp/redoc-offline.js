// ReDoc's sidebar shows Redocly's logo from their CDN, which the
// Content-Security-Policy (img-src 'self') refuses: hand it a copy of ours
// instead, so the docs ask nothing of another host. Loaded before ReDoc,
// which may set an image's source as an attribute or as the property.
(function () {
  "use strict";
  var remote = "https://cdn.redoc.ly/redoc/logo-mini.svg";
  var local = document.currentScript.getAttribute("data-logo");
  var ours = function (value) {
    return value === remote ? local : value;
  };
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    return setAttribute.call(this, name, name === "src" ? ours(value) : value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) {
      src.set.call(this, ours(value));
    },
  });
})();
