#pragma once
// Cell kinds as plugins (in the manner of Gnucap's self-registering devices): a cell kind is one
// file, netlist/cell_<name>.cpp, which defines a Cell and registers it with XBARKIT_REGISTER_CELL.
// CMake finds every cell_*.cpp and links its registration (no list to edit anywhere else).
//
// A cell owns everything that differs between kinds:
//   - its technology table ([<name>] in models/tech/*.toml): wires, read voltage, transistor, and
//     its own named parameters (CellParams), read by read_defaults();
//   - its own recipe keys under [array] (apply_recipe_keys);
//   - its SPICE text: which shipped device models it needs and the array it instantiates
//     (write_array, over the shared DeckContext primitives of deck_writer.hpp);
//   - its native equations: as a topology trait (column ladder or coupled grid) and, per cell
//     position, the devices the native solvers evaluate (ladder_cell / grid_cell). Built-in device
//     models (MVS FinFET, Stanford ReRAM, resistor) are shared by cells; a cell with new physics
//     brings its own two-terminal equations as a BranchModel (scalar and batched);
//   - its rail terminations (ladder_rails), the array_ps LUT axes it needs, its device checks
//     (published read currents ngspice must reproduce), and whether it stores analog states.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xbarkit/netlist/capacitance.hpp"

namespace xbarkit {
class TomlSection;
}

namespace xbarkit::netlist {

struct Crossbar;
struct Technology;
struct ArrayDefaults;
class DeckContext;

// Columns-decoupled arrays (wordlines drive gates only: every column is an independent two-rail
// ladder, solved in O(rows)) vs arrays whose rows carry current (one coupled 2-D nodal solve).
enum class Topology { column_ladder, grid };

// Two-terminal device equations a cell brings itself: current from terminal p to n at v = V(p) - V(n).
class BranchModel {
public:
  virtual ~BranchModel() = default;
  virtual void eval(double v, double& i_A, double& di_dv_S) const = 0;
  // n evaluations at once; override with a vectorized version where it pays.
  virtual void eval_batch(int n, const double* v, double* i_A, double* di_dv_S) const {
    for (int k = 0; k < n; ++k) eval(v[k], i_A[k], di_dv_S[k]);
  }
};

// One device of a cell as the native solvers see it.
struct BranchSpec {
  enum class Kind { transistor, reram, resistor, custom };
  Kind kind = Kind::resistor;
  double gate_V = 0;          // transistor: the crossbar's transistor, gate held at gate_V
  double reram_gap_m = 0;     // reram: the crossbar's ReRAM parameters with this gap
  double resistance_ohm = 0;  // resistor (may be +inf: an open cell)
  std::shared_ptr<const BranchModel> custom;
};

// Ladder cells are two devices in series from the bitline node to the source-line node:
// bitline -> e1 -> internal node -> e2 -> source line.
struct LadderCellSpec {
  BranchSpec e1, e2;
};

// Where the two rails of a ladder column are held: the bitline at v_bitline_V from the top (row 0
// end) or the bottom (sense end), the source line at v_sourceline_V at the bottom.
struct LadderRails {
  bool bitline_terminal_top = false;
  double v_bitline_V = 0;
  double v_sourceline_V = 0;
};

// Relative weights of the IR-drop load of rails referenced at the top and at the bottom of a
// column (they sum to 1); the array_ps `q` feature weights each rail's load with them.
struct RailLoadWeights {
  double top = 0;
  double bottom = 1;
};

// Named parameters of a cell kind (its own keys of the tech file and of recipes; the cell's file
// documents them). Numbers are SI; choices are strings from a list the cell checks.
struct CellParams {
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> choices;
  double number(const std::string& key) const;               // throws Error if absent
  const std::string& choice(const std::string& key) const;   // throws Error if absent
};

// A published check value of a cell's read current, reproduced by ngspice on a 1x1 array of the
// kind (`xbarkit models check`). The check configures the array (bias, state) itself.
struct CellCheck {
  std::string name;
  double reference_A = 0;
  double tolerance = 0;  // relative
  std::string source;
  double v_read_V = 0;
  bool input = true, weight = true;
};

class Cell {
public:
  virtual ~Cell() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view summary() const = 0;  // one line for help texts
  virtual Topology topology() const = 0;

  // Technology: reads this kind's table of a tech file (common keys via read_common_defaults,
  // then its own parameters) and rejects unknown keys.
  virtual ArrayDefaults read_defaults(const TomlSection& table, const Technology& tech) const;
  // Recipe: this kind's own keys under [array] (the common ones are read by the recipe reader).
  // The default rejects nothing and reads nothing.
  virtual void apply_recipe_keys(const TomlSection& array, Crossbar& x) const;
  // Consistency of this kind's parameters and per-cell state (after programmatic construction).
  virtual void validate(const Crossbar& x, const std::string& origin) const;

  // SPICE: shipped device models needed, and the array itself.
  virtual bool uses_transistor(const Crossbar& x) const = 0;
  virtual bool uses_reram(const Crossbar& x) const = 0;
  virtual void write_array(DeckContext& deck) const = 0;

  // Native equations (column_ladder kinds implement the ladder pair, grid kinds grid_cell).
  virtual LadderCellSpec ladder_cell(const Crossbar& x, bool input, bool weight) const;
  virtual LadderRails ladder_rails(const Crossbar& x) const;
  // Grid kinds: the element between a row line node and a column line node, for a stored bit, or
  // for an analog state (Crossbar::state, kinds with analog_state()) when `state` is given.
  virtual BranchSpec grid_cell(const Crossbar& x, bool weight, const double* state) const;

  // LUTs: the array_ps axes used when a recipe names none, why, and the rails' load weights.
  virtual std::vector<std::string> default_array_ps_axes() const = 0;
  virtual std::string array_ps_axes_reason() const = 0;
  virtual RailLoadWeights rail_load_weights(const Crossbar& x) const;

  // Published read-current checks for `xbarkit models check` (empty: none).
  virtual std::vector<CellCheck> device_checks(const Technology& tech) const;

  // Read transients (issue 19, netlist/capacitance.hpp): the capacitances of one cell of this kind,
  // from the technology's device capacitances (ladder kinds: ladder_cell_caps, grid kinds:
  // grid_cell_caps). Throw InputError naming the missing technology key; the default throws
  // "this kind has no capacitance model".
  virtual LadderCellCaps ladder_cell_caps(const Crossbar& x) const;
  virtual GridCellCaps grid_cell_caps(const Crossbar& x) const;

  // Whether Crossbar::state (per-cell analog state) is meaningful for this kind, and its unit.
  virtual bool analog_state() const { return false; }
  virtual std::string_view state_unit() const { return ""; }
};

// The registered cell kinds.
const Cell& cell(std::string_view name);           // throws Error naming the known kinds
const Cell* find_cell(std::string_view name);      // nullptr if unknown
std::vector<const Cell*> cells();                  // sorted by name
std::string cell_names(std::string_view separator = " | ");

// Rail load weights of a column whose bitline is referenced at the top and source line at the bottom
// (1T-1R wiring): each rail's load weighs with its resistance per segment.
RailLoadWeights top_fed_bitline_rails(const Crossbar& x);

// The grid element of cell (i, j) of `x` (its analog state if it has one, else its bit).
BranchSpec grid_cell_at(const Crossbar& x, int i, int j);

struct RegisterCell {
  explicit RegisterCell(const Cell& cell);
};

}  // namespace xbarkit::netlist

// In a cell file: `XBARKIT_REGISTER_CELL(sram8t, Sram8tCell)` (the first argument is the file's
// suffix, cell_<suffix>.cpp, which CMake uses to link the registration).
#define XBARKIT_REGISTER_CELL(suffix, Type)                                  \
  namespace xbarkit::netlist {                                               \
  void link_cell_##suffix() {                                                \
    static const Type instance;                                              \
    static const RegisterCell registration(instance);                        \
  }                                                                          \
  }
