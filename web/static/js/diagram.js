/* Draw the BPMN diagrams (bpmn-js) and DMN tables (dmn-js) of a page, with Bridgeflow's marks.
 *
 * Each <div class="diagram" data-diagram-url="…"> names the XML to show and, as JSON data
 * attributes, what to mark: the current task, the path taken, the tokens, the incidents,
 * and for a decision table the rules that matched.
 */
(function () {
  'use strict';

  function list(element, name) {
    try {
      var value = JSON.parse(element.getAttribute('data-' + name) || '[]');
      return Array.isArray(value) ? value : [];
    } catch (error) {
      return [];
    }
  }

  function say(element, text, isError) {
    var status = element.querySelector('.diagram-status');
    if (!status) {
      status = document.createElement('p');
      status.className = 'diagram-status';
      element.appendChild(status);
    }
    status.textContent = text;
    status.classList.toggle('diagram-error', Boolean(isError));
    status.hidden = !text;
  }

  function fetchXml(element) {
    return fetch(element.getAttribute('data-diagram-url'), {credentials: 'same-origin'})
      .then(function (response) {
        if (!response.ok) {
          throw new Error('the server answered ' + response.status);
        }
        return response.text();
      });
  }

  function badge(text, className, title) {
    var node = document.createElement('div');
    node.className = 'bf-badge ' + className;
    node.textContent = text;
    node.title = title;
    return node;
  }

  function markBpmn(element, viewer) {
    var canvas = viewer.get('canvas');
    var overlays = viewer.get('overlays');
    var registry = viewer.get('elementRegistry');
    var visited = list(element, 'visited');
    var seen = {};
    visited.forEach(function (id) { seen[id] = true; });

    function mark(ids, marker) {
      ids.forEach(function (id) {
        if (registry.get(id)) {
          canvas.addMarker(id, marker);
        }
      });
    }

    mark(visited, 'bf-visited');
    // a sequence flow was taken when both its ends were reached
    registry.filter(function (shape) {
      return shape.type === 'bpmn:SequenceFlow' && shape.source && shape.target
        && seen[shape.source.id] && (seen[shape.target.id]
          || list(element, 'active').indexOf(shape.target.id) >= 0);
    }).forEach(function (flow) { canvas.addMarker(flow.id, 'bf-visited'); });

    mark(list(element, 'current'), 'bf-current');
    // two versions compared: what this version added, changed or (the older one) removed
    mark(list(element, 'added'), 'bf-added');
    mark(list(element, 'changed'), 'bf-changed');
    mark(list(element, 'removed'), 'bf-removed');
    list(element, 'active').forEach(function (id) {
      if (registry.get(id)) {
        canvas.addMarker(id, 'bf-active');
        overlays.add(id, 'bf-token', {
          position: {bottom: 8, left: -8},
          html: badge('●', 'bf-badge-token', 'A token is here')
        });
      }
    });
    list(element, 'incidents').forEach(function (id) {
      if (registry.get(id)) {
        canvas.addMarker(id, 'bf-incident');
        overlays.add(id, 'bf-incident', {
          position: {top: -12, right: 12},
          html: badge('!', 'bf-badge-incident', 'An incident is open here')
        });
      }
    });
  }

  function keyboardZoom(element, canvas) {
    element.addEventListener('keydown', function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) {
        return;
      }
      var zoom = canvas.zoom();
      if (event.key === '+' || event.key === '=') {
        canvas.zoom(Math.min(zoom * 1.2, 4));
      } else if (event.key === '-') {
        canvas.zoom(Math.max(zoom / 1.2, 0.2));
      } else if (event.key === '0') {
        canvas.zoom('fit-viewport');
      } else {
        return;
      }
      event.preventDefault();
    });
  }

  function showBpmn(element) {
    if (typeof window.BpmnJS !== 'function') {
      say(element, 'The diagram viewer is not installed on this server (npm ci; make vendor).', true);
      return;
    }
    var viewer = new window.BpmnJS({container: element});
    fetchXml(element)
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get('canvas');
        if (!viewer.get('elementRegistry').getAll().some(function (shape) {
          return shape.type !== 'bpmn:Process' && shape.type !== 'label';
        })) {
          say(element, 'This process has no diagram layout (its file has no BPMNDI); '
            + 'open it in Camunda Modeler and save it to add one.', true);
          return;
        }
        canvas.zoom('fit-viewport', 'auto');
        markBpmn(element, viewer);
        keyboardZoom(element, canvas);
        var svg = element.querySelector('svg');
        if (svg) {
          svg.setAttribute('aria-label', element.getAttribute('aria-label') || 'Diagram');
        }
        element.setAttribute('data-ready', 'true');
        say(element, '');
      })
      .catch(function (error) {
        say(element, 'The diagram could not be shown: ' + error.message, true);
      });
  }

  function showDmn(element) {
    if (typeof window.DmnJS !== 'function') {
      say(element, 'The decision table viewer is not installed on this server (npm ci; make vendor).', true);
      return;
    }
    var viewer = new window.DmnJS({container: element});
    var wanted = element.getAttribute('data-view');
    fetchXml(element)
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var view = viewer.getViews().filter(function (v) {
          return v.element && v.element.id === wanted && v.type !== 'drd';
        })[0];
        return view ? viewer.open(view) : null;
      })
      .then(function () {
        ['added', 'changed', 'removed'].forEach(function (kind) {
          list(element, kind).forEach(function (ruleId) {
            element.querySelectorAll('[data-row-id="' + ruleId + '"]').forEach(function (cell) {
              var row = cell.closest('tr');
              if (row) {
                row.classList.add('bf-' + kind + '-row');
              }
            });
          });
        });
        list(element, 'matched').forEach(function (ruleId) {
          element.querySelectorAll('[data-row-id="' + ruleId + '"]').forEach(function (cell) {
            cell.classList.add('bf-matched');
            var row = cell.closest('tr');
            if (row) {
              row.classList.add('bf-matched-row');
            }
          });
        });
        element.setAttribute('data-ready', 'true');
        say(element, '');
      })
      .catch(function (error) {
        say(element, 'The decision table could not be shown: ' + error.message, true);
      });
  }

  document.querySelectorAll('.diagram[data-diagram-url]').forEach(function (element) {
    if (element.getAttribute('data-kind') === 'dmn') {
      showDmn(element);
    } else {
      showBpmn(element);
    }
  });
}());
