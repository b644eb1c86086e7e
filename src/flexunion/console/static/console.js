/* flexunion 工作台 — console behaviour. Plain ES2017, no build step.
 * Loaded with `defer` after vendor/htmx; uses vendor/leaflet and vendor/jsqr when present. */
(function () {
  'use strict';

  /* ---- CSRF: send the page's token with every HTMX request ---------------- */
  document.addEventListener('htmx:configRequest', function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) e.detail.headers['X-CSRF-Token'] = meta.content;
  });

  /* ---- HTMX errors: show the server's HTML in #flash (or the target) ------ */
  function showFlash(target, html, isText) {
    var box = document.getElementById('flash') || target;
    if (!box) return;
    if (isText) {
      var div = document.createElement('div');
      div.className = 'flash flash-error';
      div.setAttribute('role', 'alert');
      div.textContent = html;
      box.replaceChildren(div);
    } else {
      box.innerHTML = html;
      if (window.htmx) window.htmx.process(box);
    }
  }
  document.addEventListener('htmx:responseError', function (e) {
    var xhr = e.detail.xhr;
    if (xhr.getResponseHeader('HX-Redirect')) return; // htmx follows it itself
    var type = xhr.getResponseHeader('Content-Type') || '';
    var body = xhr.responseText || '';
    if (type.indexOf('text/html') !== -1 && body.trim()) {
      // A full error page: keep only its <body>.
      if (/<body[\s>]/i.test(body)) body = new DOMParser().parseFromString(body, 'text/html').body.innerHTML;
      showFlash(e.detail.target, body, false);
    } else {
      showFlash(e.detail.target, '请求失败（HTTP ' + xhr.status + '）。Request failed.', true);
    }
  });
  document.addEventListener('htmx:sendError', function (e) {
    showFlash(e.detail.target, '网络连接失败，请重试。Network error; please retry.', true);
  });

  /* ---- WGS-84 -> GCJ-02 ----------------------------------------------------
   * The widely published "eviltransform" algorithm (github.com/googollee/eviltransform),
   * with the original Krasovsky semi-major axis 6378245 m, which reproduces that project's
   * published test vectors exactly. Points outside China's bounding box are left unchanged. */
  var EARTH_R = 6378245.0, EE = 0.00669342162296594323;
  function outOfChina(lat, lng) {
    return lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }
  function wgs84ToGcj02(lat, lng) {
    if (outOfChina(lat, lng)) return [lat, lng];
    var x = lng - 105.0, y = lat - 35.0, xPi = x * Math.PI, yPi = y * Math.PI;
    var base = 20.0 * Math.sin(6.0 * xPi) + 20.0 * Math.sin(2.0 * xPi);
    var dLat = (base + 20.0 * Math.sin(yPi) + 40.0 * Math.sin(yPi / 3.0) +
      160.0 * Math.sin(yPi / 12.0) + 320.0 * Math.sin(yPi / 30.0)) * 2.0 / 3.0;
    var dLng = (base + 20.0 * Math.sin(xPi) + 40.0 * Math.sin(xPi / 3.0) +
      150.0 * Math.sin(xPi / 12.0) + 300.0 * Math.sin(xPi / 30.0)) * 2.0 / 3.0;
    var sqrtAbsX = Math.sqrt(Math.abs(x));
    dLat += -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrtAbsX;
    dLng += 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrtAbsX;
    var radLat = lat / 180.0 * Math.PI, magic = Math.sin(radLat);
    magic = 1 - EE * magic * magic;
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((EARTH_R * (1 - EE)) / (magic * sqrtMagic) * Math.PI);
    dLng = (dLng * 180.0) / (EARTH_R / sqrtMagic * Math.cos(radLat) * Math.PI);
    return [lat + dLat, lng + dLng];
  }
  // GeoJSON positions are [lng, lat, ...]; convert nested coordinate arrays in place.
  function convertCoords(c) {
    if (typeof c[0] === 'number') {
      var p = wgs84ToGcj02(c[1], c[0]);
      c[0] = p[1]; c[1] = p[0];
    } else {
      c.forEach(convertCoords);
    }
  }
  function convertGeometry(g) {
    if (!g) return;
    if (g.type === 'GeometryCollection') g.geometries.forEach(convertGeometry);
    else if (g.coordinates) convertCoords(g.coordinates);
  }

  /* ---- Maps: .map[data-geojson] ------------------------------------------ */
  var KIND_COLOURS = {
    jurisdiction: '#1f5fa8', delivery_zone: '#d97706', station_coverage: '#7c3aed', station: '#b42318'
  };
  window.flexunionMaps = window.flexunionMaps || [];

  function featureStyle(f) {
    var p = f.properties || {}, c = KIND_COLOURS[p.kind] || '#1f5fa8';
    return Object.assign({
      color: p.stroke || c, weight: p.kind === 'jurisdiction' ? 2.5 : 1.5,
      fillColor: p.fill || c, fillOpacity: p.kind === 'station' ? 0.9 : (p.kind === 'station_coverage' ? 0.12 : 0.25),
      dashArray: p.kind === 'station_coverage' ? '4 4' : null
    }, ownOpacity(p));
  }
  /* A feature may set its own fill opacity (properties.fill_opacity, 0..1): a choropleth
   * (the census map) needs its colours as strong as its legend's swatches. */
  function ownOpacity(p) {
    var o = p.fill_opacity;
    return typeof o === 'number' && o >= 0 && o <= 1 ? { fillOpacity: o } : {};
  }
  function popupContent(p) {
    if (typeof p.popup === 'string' && p.popup) return p.popup; // HTML escaped by the server
    var table = document.createElement('table');
    table.className = 'map-props';
    Object.keys(p).forEach(function (k) {
      var v = p[k];
      if (k === 'popup' || v === null || typeof v === 'object') return;
      var tr = table.insertRow(), th = tr.appendChild(document.createElement('th'));
      th.textContent = k;
      tr.insertCell().textContent = String(v);
    });
    return table.rows.length ? table : null;
  }
  function addLegend(map, json) {
    var items;
    try { items = JSON.parse(json); } catch (err) { return; }
    var legend = L.control({ position: 'bottomright' });
    legend.onAdd = function () {
      var div = L.DomUtil.create('div', 'map-legend');
      items.forEach(function (item) {
        var row = document.createElement('div'), swatch = document.createElement('i');
        swatch.style.background = item[0];
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(item[1]));
        div.appendChild(row);
      });
      return div;
    };
    legend.addTo(map);
  }

  function initMap(el) {
    if (!window.L || el._flexunionMap) return;
    var map = L.map(el, { attributionControl: true });
    el._flexunionMap = map;
    var entry = { element: el, map: map, layer: null }; // pushed now so the order follows the page
    window.flexunionMaps.push(entry);
    map.setView([35, 105], 4); // a view is needed until the data arrives
    var gcj = (el.dataset.tilesCrs || 'wgs84').toLowerCase() === 'gcj02';
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.tilesAttribution || '' }).addTo(map);
    }
    if (el.dataset.legend) addLegend(map, el.dataset.legend);
    fetch(el.dataset.geojson, { credentials: 'same-origin', headers: { Accept: 'application/geo+json, application/json' } })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (data) {
        var features = data.type === 'FeatureCollection' ? data.features : [data];
        if (gcj && el.dataset.tiles) features.forEach(function (f) { convertGeometry(f.geometry); });
        var layer = L.geoJSON(features, {
          style: featureStyle,
          pointToLayer: function (f, latlng) { return L.circleMarker(latlng, { radius: 6 }); },
          onEachFeature: function (f, lyr) {
            var content = popupContent(f.properties || {});
            if (content) lyr.bindPopup(content);
          }
        }).addTo(map);
        var bounds = layer.getBounds();
        if (bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16], maxZoom: 16 });
        entry.layer = layer;
        el.dataset.features = String(layer.getLayers().length);
        el.dataset.ready = '1';
      })
      .catch(function (err) {
        el.dataset.ready = 'error';
        el.dataset.error = String(err && err.message || err);
        map.attributionControl.setPrefix('地图数据加载失败。Map data failed to load.');
      });
  }

  /* ---- Card scanning: [data-qr-scan] button ------------------------------ */
  var CAMERA_MSG = '无法打开摄像头，请粘贴卡片内容。Camera unavailable; paste the card instead.';
  var scanners = [];

  function byIdOrSelector(ref) {
    return ref ? (document.getElementById(ref) || document.querySelector(ref)) : null;
  }
  function scanMessage(btn, box, text) {
    var msg = (box || btn.parentNode).querySelector('.qr-message');
    if (!msg) {
      msg = document.createElement('p');
      msg.className = 'qr-message';
      msg.setAttribute('role', 'alert');
      if (box) box.appendChild(msg); else btn.insertAdjacentElement('afterend', msg);
    }
    msg.textContent = text;
  }
  function stopScan(s) {
    clearInterval(s.timer);
    s.stream.getTracks().forEach(function (t) { t.stop(); });
    s.video.remove();
    s.btn.setAttribute('aria-pressed', 'false');
    scanners.splice(scanners.indexOf(s), 1);
  }
  function startScan(btn) {
    var running = scanners.filter(function (s) { return s.btn === btn; })[0];
    if (running) { stopScan(running); return; } // second click = cancel
    var textarea = byIdOrSelector(btn.dataset.target), box = byIdOrSelector(btn.dataset.video);
    var md = navigator.mediaDevices;
    if (!md || !md.getUserMedia || typeof window.jsQR !== 'function' || !box) {
      scanMessage(btn, box, CAMERA_MSG);
      if (textarea) textarea.focus();
      return;
    }
    md.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false }).then(function (stream) {
      var video = document.createElement('video');
      video.setAttribute('playsinline', '');
      video.muted = true;
      video.srcObject = stream;
      box.querySelectorAll('video, .qr-message').forEach(function (n) { n.remove(); });
      box.hidden = false;
      box.appendChild(video);
      video.play().catch(function () {});
      var canvas = document.createElement('canvas'), ctx = canvas.getContext('2d', { willReadFrequently: true });
      var s = { btn: btn, stream: stream, video: video, timer: 0 };
      scanners.push(s);
      btn.setAttribute('aria-pressed', 'true');
      s.timer = setInterval(function () {
        if (video.readyState < 2 || !video.videoWidth) return;
        var scale = Math.min(1, 1024 / Math.max(video.videoWidth, video.videoHeight));
        var w = canvas.width = Math.round(video.videoWidth * scale);
        var h = canvas.height = Math.round(video.videoHeight * scale);
        ctx.drawImage(video, 0, 0, w, h);
        var code = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h);
        if (!code || !code.data) return;
        stopScan(s);
        if (!textarea) return;
        textarea.value = code.data;
        textarea.dispatchEvent(new Event('input', { bubbles: true }));
        var form = textarea.form; // data-no-submit: the field is one of a larger form
        if (form && !('noSubmit' in btn.dataset)) {
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
        }
      }, 200);
    }).catch(function () {
      scanMessage(btn, box, CAMERA_MSG);
      if (textarea) textarea.focus();
    });
  }
  document.addEventListener('click', function (e) {
    var btn = e.target.closest && e.target.closest('[data-qr-scan]');
    if (!btn) return;
    e.preventDefault();
    startScan(btn);
  });
  window.addEventListener('pagehide', function () { scanners.slice().forEach(stopScan); });

  /* ---- A secret shown once (组织 › 平台接入客户端) ----------------------------
   * The answer to a form that shows a secret carries data-replace-url: the address becomes
   * that plain page, so a reload neither posts the form again nor shows the secret. */
  function replaceUrl(root) {
    var el = root.querySelector && root.querySelector('[data-replace-url]');
    if (el && window.history && window.history.replaceState) {
      window.history.replaceState(null, '', el.getAttribute('data-replace-url'));
    }
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { replaceUrl(document); });
  } else {
    replaceUrl(document);
  }

  /* ---- Wiring: initial page and every HTMX swap -------------------------- */
  function init(root) {
    if (!root.querySelectorAll) return;
    if (root.matches && root.matches('.map[data-geojson]')) initMap(root);
    root.querySelectorAll('.map[data-geojson]').forEach(initMap);
  }
  document.addEventListener('htmx:load', function (e) { init(e.target); });
  document.addEventListener('htmx:beforeCleanupElement', function (e) {
    var el = e.target;
    if (!el._flexunionMap) return;
    var maps = window.flexunionMaps; // edit in place: tests may hold a reference
    for (var i = maps.length - 1; i >= 0; i--) if (maps[i].element === el) maps.splice(i, 1);
    el._flexunionMap.remove();
    delete el._flexunionMap;
  });
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { init(document); });
  } else {
    init(document);
  }

  window.flexunionConsole = { wgs84ToGcj02: wgs84ToGcj02, initMap: initMap };
})();
